/* Server-variable facts of a request (see isapi_request_info.h). */
#include "isapi/shared/isapi_request_info.h"

#include <string.h>

void ih_isapi_info_from_request(ih_isapi_request_info *ri, const ih_conn *c, const ih_request *r, const char *user,
                                const char *password)
{
  memset(ri, 0, sizeof *ri);
  ih_slice path = ih_slice_from_cstr(r->path);
  ih_slice script = path, path_info = path;
  if (r->is_extension) {
    script = (ih_slice){ path.p, r->ext.script_url_len };
    /* PATH_INFO: what follows a DLL called directly; the whole URL for a
     * script map (IIS 6 without AllowPathInfoForScriptMappings). */
    if (r->ext.direct_dll)
      path_info = (ih_slice){ path.p + script.n, path.n - script.n };
  }
  const ih_http_header *ct = ih_http_find_header(&r->head, "Content-Type");
  ri->method = r->head.method;
  ri->raw_url = r->head.target;
  ri->url = path;
  ri->query = r->query;
  ri->version = r->head.version;
  ri->headers = r->head.header_count ? r->head.headers : NULL;
  ri->header_count = r->head.header_count;
  ri->script_name = script;
  ri->path_info = path_info;
  if (r->is_extension) {
    ri->path_translated = ih_slice_from_cstr(r->ext.script_physical);
    ri->script_translated = ih_slice_from_cstr(r->ext.script_physical);
  }
  ri->content_type = ct ? ct->value : (ih_slice){ "", 0 };
  ri->content_length = r->framing.chunked ? 0 : r->framing.content_length;
  ri->chunked = r->framing.chunked;
  /* The client and how it reached us as the request knows them
   * (conn_request_new, then trusted proxies' forwarding headers). A filter
   * asking between requests (READ_RAW_DATA) gets an empty request, with no
   * client named: the connection's facts then. */
  bool request_view = r->client_addr[0] != '\0';
  ri->remote_addr = ih_slice_from_cstr(request_view ? r->client_addr : c->peer_addr);
  ri->remote_port = request_view ? r->client_port : c->peer_port;
  ri->local_addr = ih_slice_from_cstr(c->local_addr);
  ri->server_port = request_view ? r->server_port : c->local_port;
  ri->https = request_view ? r->secure : c->secure_port;
  /* SERVER_NAME is the host the request was routed by (http_parse.h:
   * absolute-form target, else Host, without the port), else our address. */
  ri->server_name = r->framing.host_name.n ? r->framing.host_name : ri->local_addr;
  if (r->site) {
    ri->instance_id = r->site->id;
    const ih_vdir *vdir = r->is_extension && r->ext.vdir ? r->ext.vdir : &r->site->vdirs[0];
    ri->app_vdir = ih_slice_from_cstr(vdir->url_path);
    ri->appl_physical_path = ih_slice_from_cstr(vdir->physical_path);
  }
  if (user && *user) {
    /* Basic credentials (decoded, or given by a filter): no Windows logon
     * here, so the user is reported as given. */
    ri->auth_type = IH_SLICE_LIT("Basic");
    ri->remote_user = ih_slice_from_cstr(user);
    ri->logon_user = ri->remote_user;
    ri->auth_password = ih_slice_from_cstr(password ? password : "");
  }
}
