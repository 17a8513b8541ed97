/* What the pipeline (pipeline.c) learns from a request's handler when it
 * ends. The handlers are called down into: the static files, the status and
 * extension admin pages answer at once (respond.h); an ISAPI extension
 * (conn_ext.h) runs on its own and tells the platform when its session is
 * over, which brings the pipeline back (ih_conn_on_ext_end), and the
 * pipeline then asks it how it ended. No handler calls the pipeline. */
#ifndef IH_HANDLER_H
#define IH_HANDLER_H

enum ih_handler_end {
  /* Its response went out whole: the connection stays as the response's
   * head announced (the keep-alive decision, rechecked by the pipeline). */
  IH_HANDLER_OK,
  /* Its response went out, but the connection must close after it (the
   * handler asked, or the response's end is unknown). */
  IH_HANDLER_CLOSE_WANTED,
  /* It sent nothing: the response it left in c->out (and its plan) goes out
   * now, as any other (response filters, then the send). */
  IH_HANDLER_ANSWER,
  /* The connection closed under it: only the request's end is left. */
  IH_HANDLER_FAILED,
};

#endif
