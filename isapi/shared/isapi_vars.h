/* Server variables for an ISAPI extension's GetServerVariable callback.
 *
 * Portable: no windows.h, no allocation. The Win32 layer fills an
 * ih_isapi_request_info from the parsed request and the routing decision and
 * answers EXTENSION_CONTROL_BLOCK.GetServerVariable with ih_isapi_get_var,
 * mapping the status to the Win32 error:
 *
 *   IH_VAR_OK                  TRUE
 *   IH_VAR_INSUFFICIENT_BUFFER FALSE, ERROR_INSUFFICIENT_BUFFER (*size = bytes needed)
 *   IH_VAR_INVALID_INDEX       FALSE, ERROR_INVALID_INDEX (unknown variable, or a
 *                              header the request does not carry)
 *   IH_VAR_NO_DATA             FALSE, ERROR_NO_DATA (known variable, no value)
 *
 * The rule (docs/compatibility.md, "Server variables"): an unknown name, and
 * a request header the request does not carry (HTTP_*, HEADER_* and their
 * UNICODE_ forms), are INVALID_INDEX; NO_DATA is only for a variable of the
 * list below whose value does not exist for this request. A header variable
 * exists only when the header does: IIS answers 1413 for one not sent, and
 * DLLs take 1413 to mean "not sent" and any other error as a failure.
 *
 * The caller answers ERROR_INVALID_PARAMETER itself for a NULL name or size
 * (a NULL ri, name or size here gives IH_VAR_INVALID_INDEX, nothing written).
 *
 * Size contract (IIS 6 SDK GetServerVariable, ms525335; Apache PR 8934: Delphi
 * depends on the NUL being counted): *size is the buffer size in bytes on
 * entry. On success the value and a terminating NUL are written and *size is
 * the number of bytes written including the NUL. When buf is NULL or *size is
 * too small, nothing at all is written to buf and *size becomes the required
 * size including the NUL (no partial data, no ERROR_MORE_DATA). On
 * INVALID_INDEX and NO_DATA *size is left unchanged.
 *
 * Names are compared without regard to ASCII case. Every value is a single
 * line: CR, LF and NUL bytes in a source (header value or a field below) are
 * written as SP, so only ALL_HTTP and ALL_RAW contain line breaks, as their
 * separators.
 *
 * "UNICODE_" + any name below (IIS 6 ISAPI, ms524602) returns the same value
 * as UTF-16LE with a two-byte NUL; *size counts bytes, not WCHARs, in both
 * directions. The 8-bit value is decoded as UTF-8; a byte that does not start
 * a valid UTF-8 sequence becomes the code point of the same number (Latin-1),
 * so header bytes are never lost. "UNICODE_UNICODE_..." is an unknown name.
 *
 * Variables (section 6 of the ISAPI surface reference; "field" = member of
 * ih_isapi_request_info; NO_DATA = IH_VAR_NO_DATA):
 *
 *   ALL_HTTP             every request header as "HTTP_<NAME>:<value>\n"; NAME is
 *                        upper-cased with '-' -> '_'; one line per distinct name
 *                        (first-occurrence order), duplicates joined as for HTTP_*
 *   ALL_RAW              every header line as received: "<Name>: <value>\r\n"
 *                        (rebuilt from the parsed fields; values OWS-trimmed)
 *   APP_POOL_ID          app_pool_id; "DefaultAppPool" when app_pool_id.p is NULL
 *   APPL_MD_PATH         "/LM/W3SVC/<instance_id>/ROOT" + app_vdir without a trailing
 *                        '/' ("/" -> ".../ROOT", "/scripts/" -> ".../ROOT/scripts")
 *   APPL_PHYSICAL_PATH   appl_physical_path, with a '\' appended unless it ends in
 *                        '\' or '/' ("" stays "")
 *   AUTH_PASSWORD        auth_password ("" for anonymous requests)
 *   AUTH_TYPE            auth_type ("" for anonymous requests, as IIS)
 *   AUTH_USER            remote_user (IIS: "no different from REMOTE_USER")
 *   CACHE_URL            NO_DATA: it only names kernel-cache entries for
 *                        HSE_REQ_GET_CACHE_INVALIDATION_CALLBACK, which is not offered
 *   CERT_COOKIE, CERT_FLAGS, CERT_ISSUER, CERT_KEYSIZE, CERT_SECRETKEYSIZE,
 *   CERT_SERIALNUMBER, CERT_SERVER_ISSUER, CERT_SERVER_SUBJECT, CERT_SUBJECT
 *                        NO_DATA (no TLS; reference section 6 implementation notes)
 *   CONTENT_LENGTH       content_length in decimal ("0" when there is no body, as
 *                        IIS); NO_DATA when chunked (length unknown; the ECB carries
 *                        cbTotalBytes = 0xFFFFFFFF and ReadClient ends at 0 bytes)
 *   CONTENT_TYPE         content_type; when content_type.p is NULL, the Content-Type
 *                        header (joined as HTTP_*), "" when absent
 *   GATEWAY_INTERFACE    "CGI/1.1"
 *   HEADER_<Name>        the request header named exactly <Name> (IIS 7 style: no
 *                        '_' -> '-' translation; case-insensitive as HTTP names are);
 *                        duplicates joined as for HTTP_*; INVALID_INDEX when
 *                        the request does not carry it
 *   HTTP_<NAME>          the request header whose name equals NAME with each '_'
 *                        standing for '-' (a '_' never matches a '_', so a header
 *                        sent as "X_User" is reachable only through HEADER_X_User;
 *                        this stops "X_User" spoofing a proxy's "X-User"). Several
 *                        headers of that name are joined with ", " ("; " for
 *                        Cookie, RFC 6265 5.4); INVALID_INDEX when the request does
 *                        not carry it. The three names below win over headers of
 *                        the same spelling.
 *   HTTP_METHOD          method
 *   HTTP_URL             raw_url (as sent, still percent-encoded, with the query);
 *                        url ["?" query] when raw_url.p is NULL
 *   HTTP_VERSION         "HTTP/0.9", "HTTP/1.0" or "HTTP/1.1" from version (a request
 *                        line "HTTP/1.2" was already folded into 11 by the parser)
 *   HTTPS                "on" / "off" (lower case, as IIS 6 answers)
 *   HTTPS_KEYSIZE, HTTPS_SECRETKEYSIZE, HTTPS_SERVER_ISSUER, HTTPS_SERVER_SUBJECT
 *                        NO_DATA (no TLS)
 *   INSTANCE_ID          instance_id in decimal
 *   INSTANCE_META_PATH   "/LM/W3SVC/<instance_id>"
 *   LOCAL_ADDR           local_addr
 *   LOGON_USER           logon_user ("" for anonymous requests)
 *   PATH_INFO            path_info (IIS 6 default for script maps: the whole URL)
 *   PATH_TRANSLATED      path_translated
 *   QUERY_STRING         query (no '?'; "" when none)
 *   REMOTE_ADDR          remote_addr
 *   REMOTE_HOST          remote_host; remote_addr when remote_host.p is NULL (no
 *                        reverse DNS, as IIS with lookups off)
 *   REMOTE_PORT          remote_port in decimal
 *   REMOTE_USER          remote_user
 *   REQUEST_METHOD       method
 *   SCRIPT_NAME          script_name
 *   SCRIPT_TRANSLATED    script_translated in "\\?\" form ("\\?\C:\x.dll",
 *                        "\\?\UNC\srv\share\x.dll"; unchanged if already so);
 *                        NO_DATA when script_translated is empty
 *   SERVER_NAME          server_name (the host the request was routed by, from the
 *                        one host parser: isapi_request_info.c); local_addr when
 *                        server_name.p is NULL
 *   SERVER_PORT          server_port in decimal
 *   SERVER_PORT_SECURE   "1" when https, else "0"
 *   SERVER_PROTOCOL      same text as HTTP_VERSION
 *   SERVER_SOFTWARE      server_software; IH_ISAPI_SERVER_SOFTWARE when .p is NULL
 *   SSI_EXEC_DISABLED    "1": IsapiHost has no server-side includes (value format
 *                        unverified; reference section 7)
 *   UNENCODED_URL        same as HTTP_URL
 *   UNMAPPED_REMOTE_USER remote_user (there is no user mapping; mod_isapi's literal
 *                        "REMOTE_USER" is a bug not repeated)
 *   URL                  url (canonical decoded path, no query)
 *   URL_PATH_INFO        path_info (IIS 5-era name; semantics unverified)
 *   UNICODE_<any above>  see above (UNICODE_HTTP_* and UNICODE_HEADER_* too, which
 *                        IIS 6 calls invalid names, ms524476: answered when the
 *                        header was sent, INVALID_INDEX as on IIS when not)
 *
 * Not provided (ERROR_INVALID_INDEX): IIS 7+ additions (APP_POOL_CONFIG,
 * CRYPT_*, DOCUMENT_ROOT, REQUEST_URI, SCRIPT_FILENAME, SERVER_ADDR, ...) and
 * Apache-only names. */
#ifndef IH_ISAPI_VARS_H
#define IH_ISAPI_VARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ih_str.h"
#include "http/http_parse.h"
#include "ih_version.h"

#define IH_ISAPI_SERVER_SOFTWARE IH_SERVER_SOFTWARE
#define IH_ISAPI_DEFAULT_APP_POOL "DefaultAppPool"

/* The facts of one request. Slices point into buffers that must outlive the
 * GetServerVariable call; a slice with p == NULL is "not set" (for the fields
 * with a documented fallback) or "" (for the others). Zero-initialise and fill
 * what is known. */
typedef struct ih_isapi_request_info {
  /* request line and headers */
  ih_slice method;             /* "GET" */
  ih_slice raw_url;            /* request-target as sent: "/a%20b/x.dll/p?q=1" */
  ih_slice url;                /* canonical decoded path (url_canon.h): "/a b/x.dll/p" */
  ih_slice query;              /* without '?' */
  int version;                 /* 9, 10 or 11 (enum ih_http_version) */
  const ih_http_header *headers; /* names as sent; NULL when header_count is 0 */
  size_t header_count;

  /* script mapping (decided by routing) */
  ih_slice script_name;        /* "/scripts/x.dll" */
  ih_slice path_info;          /* "/scripts/x.dll/p" (IIS 6) or "/p" (CGI style) */
  ih_slice path_translated;    /* physical path of path_info */
  ih_slice script_translated;  /* physical path of the DLL: "C:\site\scripts\x.dll" */

  /* body */
  ih_slice content_type;       /* p == NULL: taken from the Content-Type header */
  uint64_t content_length;     /* 0 when there is no body */
  bool chunked;                /* length unknown (chunked request body) */

  /* connection */
  ih_slice remote_addr;        /* "192.0.2.7" or "::1" */
  uint16_t remote_port;
  ih_slice remote_host;        /* p == NULL: remote_addr */
  ih_slice local_addr;
  uint16_t server_port;
  ih_slice server_name;        /* the request's host without port; p == NULL: local_addr */
  bool https;                  /* the request is secure (a secure = on site, or a trusted proxy said so) */

  /* site and application */
  uint32_t instance_id;        /* site id: "1" */
  ih_slice app_vdir;           /* URL path of the application's virtual directory: "/", "/scripts" */
  ih_slice appl_physical_path; /* physical directory of that vdir: "C:\site\scripts" */
  ih_slice app_pool_id;        /* p == NULL: IH_ISAPI_DEFAULT_APP_POOL */

  /* authentication (all empty while only anonymous access exists) */
  ih_slice auth_type;
  ih_slice auth_password;
  ih_slice remote_user;        /* also AUTH_USER, UNMAPPED_REMOTE_USER */
  ih_slice logon_user;

  ih_slice server_software;    /* p == NULL: IH_ISAPI_SERVER_SOFTWARE */
} ih_isapi_request_info;

enum ih_var_status {
  IH_VAR_OK = 0,
  IH_VAR_INSUFFICIENT_BUFFER,
  IH_VAR_INVALID_INDEX,
  IH_VAR_NO_DATA,
};

/* GetServerVariable semantics; see the contract at the top of this file.
 * buf may be NULL (size query). Never allocates; pure function of its
 * inputs, so it is safe to call concurrently for the same request. */
enum ih_var_status ih_isapi_get_var(const ih_isapi_request_info *ri, const char *name, void *buf,
                                    uint32_t *size);

/* Whether GetServerVariable could ever answer name, whatever the request: a
 * variable of the list above, or a header form (HTTP_x, HEADER_x), with or
 * without UNICODE_. False for NULL. Filters ask it before the head is parsed,
 * when a known name may have no value yet (NO_DATA) but an unknown one never
 * has (INVALID_INDEX). */
bool ih_isapi_var_name_known(const char *name);

#endif
