/* ISAPI filter notifications at the pipeline's points (conn_filters.c):
 * the connection's state turned into a notification's payload and back.
 * Lock held; no I/O, and nothing here closes the connection or makes the
 * keep-alive decision: each function returns what the filters answered
 * (enum ih_chain_result) and the caller acts on it. */
#ifndef IH_CONN_FILTERS_H
#define IH_CONN_FILTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/conn.h"
#include "filters/filter_chain.h"

bool conn_filters_want(ih_conn *c, uint32_t type);
/* Outgoing bytes must pass through conn_filter_raw_send: SEND_RAW_DATA
 * filters, or bytes a filter wrote waiting to go out first. */
bool conn_filter_sends_through(ih_conn *c);
/* READ_RAW_DATA on the bytes just received at c->in[from, from + *n): they
 * may change (c->in_len follows); READ_NEXT: they were taken, read more. */
enum ih_chain_result conn_filter_raw_read(ih_conn *c, size_t from, size_t *n);
/* The next receive's size: SF_REQ_SET_NEXT_READ_SIZE, or cap. */
size_t conn_filter_read_size(ih_conn *c, size_t cap);
/* PREPROC_HEADERS on the request's head; a changed head is parsed again
 * (*url_changed: route again). */
enum ih_chain_result conn_filter_preproc(ih_conn *c, bool *url_changed);
/* AUTHENTICATION (Basic credentials decoded into writable buffers), then
 * AUTH_COMPLETE on the request's head. */
enum ih_chain_result conn_filter_authenticate(ih_conn *c, bool *url_changed);
/* URL_MAP: the filters may rewrite physical[0..cap) in place. */
enum ih_chain_result conn_filter_url_map(ih_conn *c, const char *url, char *physical, size_t cap);
/* Before a response head in c->out[0..out_head_len) goes out (empty for
 * 0.9): ACCESS_DENIED for a 401 or 403 (a filter finishing the request
 * there may replace the response: *replaced, when replaced is not NULL),
 * then AddResponseHeaders lines (and, for 401/403, headers on denial) and
 * SEND_RESPONSE; the head is rewritten if anything changed. */
enum ih_chain_result conn_filter_send_response(ih_conn *c, int status, bool *replaced);
/* SEND_RAW_DATA on data[0..len): *out and *out_len are the bytes to send
 * (c->filter_send when filters touched them, with what they wrote in front). */
enum ih_chain_result conn_filter_raw_send(ih_conn *c, const char *data, size_t len, const char **out, size_t *out_len);
/* Turns what a filter sent (SF_REQ_SEND_RESPONSE_HEADER, WriteClient) into
 * the response in c->out; false when it sent nothing. Raw bytes without a
 * head have no end we could know: the connection closes after them. */
bool conn_filter_take_response(ih_conn *c, bool finished_keep);
void conn_filter_log(ih_conn *c, ih_fn_log *log);
void conn_filter_end_of_request(ih_conn *c);
void conn_filter_end_of_session(ih_conn *c);

#endif
