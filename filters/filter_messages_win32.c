/* The filter host's words for its messages: notification names, a
 * filter's GetFilterVersion flags in words, and the once-per-filter report
 * of a filter's misuse (IH3005). Used by both filter_host_win32.c and
 * filter_callbacks_win32.c (declared in filter_call_win32.h and
 * filter_host_win32.h), so neither of those calls into the other for them. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/server_log.h"
#include "filters/filter_call_win32.h"
#include "filters/filter_host_win32.h"

/* ---- words for messages ---- */

static const struct {
  uint32_t bit;
  const char *name;
} notifications[] = {
  /* in the order a request meets them (reference section 2.7) */
  { IH_SF_NOTIFY_READ_RAW_DATA, "READ_RAW_DATA" },
  { IH_SF_NOTIFY_PREPROC_HEADERS, "PREPROC_HEADERS" },
  { IH_SF_NOTIFY_URL_MAP, "URL_MAP" },
  { IH_SF_NOTIFY_AUTHENTICATION, "AUTHENTICATION" },
  { IH_SF_NOTIFY_AUTH_COMPLETE, "AUTH_COMPLETE" },
  { IH_SF_NOTIFY_ACCESS_DENIED, "ACCESS_DENIED" },
  { IH_SF_NOTIFY_SEND_RESPONSE, "SEND_RESPONSE" },
  { IH_SF_NOTIFY_SEND_RAW_DATA, "SEND_RAW_DATA" },
  { IH_SF_NOTIFY_END_OF_REQUEST, "END_OF_REQUEST" },
  { IH_SF_NOTIFY_LOG, "LOG" },
  { IH_SF_NOTIFY_END_OF_NET_SESSION, "END_OF_NET_SESSION" },
};

const char *ih_filter_notification_name(uint32_t type)
{
  for (size_t i = 0; i < sizeof notifications / sizeof notifications[0]; i++)
    if (notifications[i].bit == type)
      return notifications[i].name;
  return "?";
}

/* Appends s to out[0..cap) after what is there (always NUL-terminated). */
static void append(char *out, size_t cap, const char *s)
{
  size_t n = strlen(out);
  if (n + 1 < cap)
    snprintf(out + n, cap - n, "%s", s);
}

/* "PREPROC_HEADERS URL_MAP ...; ports: NONSECURE; priority HIGH" from
 * GetFilterVersion's dwFlags. */
void flt_describe_flags(uint32_t flags, char *out, size_t cap)
{
  out[0] = '\0';
  uint32_t known = IH_SF_NOTIFY_SECURE_PORT | IH_SF_NOTIFY_NONSECURE_PORT | IH_SF_NOTIFY_ORDER_MASK;
  append(out, cap, "notifications:");
  for (size_t i = 0; i < sizeof notifications / sizeof notifications[0]; i++) {
    known |= notifications[i].bit;
    if (flags & notifications[i].bit) {
      append(out, cap, " ");
      append(out, cap, notifications[i].name);
    }
  }
  if (!(flags & ~(IH_SF_NOTIFY_SECURE_PORT | IH_SF_NOTIFY_NONSECURE_PORT | IH_SF_NOTIFY_ORDER_MASK)))
    append(out, cap, " none");
  append(out, cap, "; ports:");
  if (flags & IH_SF_NOTIFY_SECURE_PORT)
    append(out, cap, " SECURE");
  if (flags & IH_SF_NOTIFY_NONSECURE_PORT)
    append(out, cap, " NONSECURE");
  if (!(flags & (IH_SF_NOTIFY_SECURE_PORT | IH_SF_NOTIFY_NONSECURE_PORT)))
    append(out, cap, " none named");
  /* No order bit: such a filter runs before every prioritised one
   * (KB Q237471), not at SF_NOTIFY_ORDER_DEFAULT. */
  append(out, cap, "; priority ");
  if (!(flags & IH_SF_NOTIFY_ORDER_MASK))
    append(out, cap, "none (runs before HIGH, KB Q237471)");
  else {
    const char *sep = "";
    if (flags & IH_SF_NOTIFY_ORDER_HIGH) {
      append(out, cap, "HIGH");
      sep = "+";
    }
    if (flags & IH_SF_NOTIFY_ORDER_MEDIUM) {
      append(out, cap, sep);
      append(out, cap, "MEDIUM");
      sep = "+";
    }
    if (flags & IH_SF_NOTIFY_ORDER_LOW) {
      append(out, cap, sep);
      append(out, cap, "LOW");
    }
  }
  if (flags & ~known) {
    char extra[40];
    snprintf(extra, sizeof extra, "; unknown bits 0x%08lx", (unsigned long)(flags & ~known));
    append(out, cap, extra);
  }
}

/* ---- misuse ---- */

void flt_misuse(const flt_call *k, unsigned kind, const char *fmt, ...)
{
  if (kind > 31)
    kind = FLT_MISUSE_SSF_OTHER;
  LONG bit = (LONG)(1UL << kind);
  if (InterlockedOr(&k->dll->logged, bit) & bit)
    return;
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  ih_log(IH_LOG_WARNING, IH_EV_FILTER_MISUSE, "filter %s (%s) in %s: %s (reported once per filter and kind)",
         k->f->conf->name, k->f->conf->dll_path, ih_filter_notification_name(k->type), what);
}
