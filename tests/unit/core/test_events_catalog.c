/* The three lists of event IDs say the same thing:
 *   service/core/events.h      enum ih_event_id (IH_EV_<name> = nnnn)
 *   service/win32/messages.mc  the Event Log message table
 *   docs/events.md             the operator's table
 * Every ID of the enum has exactly one message (MessageId=nnnn, SymbolicName
 * IH_MSG_<name>, an insertion string %1, a Severity that is the most severe
 * level the doc gives it) and exactly one row "| IHnnnn | LEVEL | ..." in the
 * doc; neither has an ID the enum does not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ih_test.h"

#ifndef IH_SOURCE_DIR
#error "IH_SOURCE_DIR must name the source tree"
#endif

#define MAX_EVENTS 256

static char *read_text(const char *rel) { return ih_test_read_source(IH_SOURCE_DIR, rel); }

/* Copies the rest of the line at p (without "\r\n") into out. */
static void line_at(const char *p, char *out, size_t cap)
{
  size_t n = strcspn(p, "\r\n");
  if (n >= cap)
    n = cap - 1;
  memcpy(out, p, n);
  out[n] = '\0';
}

typedef struct event {
  char name[64]; /* after IH_EV_ */
  long id;
} event;

/* enum ih_event_id in events.h: "IH_EV_NAME = 1234," entries. */
static size_t parse_enum(const char *h, event *out)
{
  const char *p = strstr(h, "enum ih_event_id {");
  const char *end = p ? strstr(p, "};") : NULL;
  size_t n = 0;
  while (p && end && (p = strstr(p, "IH_EV_")) != NULL && p < end && n < MAX_EVENTS) {
    p += 6;
    size_t len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    if (len == 0 || len >= sizeof out[n].name)
      break;
    memcpy(out[n].name, p, len);
    out[n].name[len] = '\0';
    p += len;
    p += strspn(p, " ");
    if (*p != '=')
      continue; /* a mention in a comment */
    char *after;
    out[n].id = strtol(p + 1, &after, 10);
    p = after;
    n++;
  }
  return n;
}

typedef struct message {
  long id;
  char symbol[80];
  char severity[32];
  char facility[32];
  char text[256];
} message;

/* The message definitions of a .mc file: from "MessageId=" to the line
 * holding a single ".". Comment lines start with ';'. */
static size_t parse_mc(const char *mc, message *out)
{
  size_t n = 0;
  const char *p = mc;
  message *m = NULL;
  int in_text = 0;
  while (*p) {
    char line[512];
    line_at(p, line, sizeof line);
    if (in_text) {
      if (strcmp(line, ".") == 0)
        in_text = 0;
      else if (strlen(m->text) + strlen(line) + 2 < sizeof m->text) {
        strcat(m->text, line);
        strcat(m->text, "\n");
      }
    } else if (line[0] == ';') {
      /* comment */
    } else if (strncmp(line, "MessageId=", 10) == 0 && n < MAX_EVENTS) {
      m = &out[n++];
      memset(m, 0, sizeof *m);
      m->id = strtol(line + 10, NULL, 0);
    } else if (m && strncmp(line, "SymbolicName=", 13) == 0) {
      IH_CHECK(snprintf(m->symbol, sizeof m->symbol, "%s", line + 13) < (int)sizeof m->symbol);
    } else if (m && strncmp(line, "Severity=", 9) == 0) {
      IH_CHECK(snprintf(m->severity, sizeof m->severity, "%s", line + 9) < (int)sizeof m->severity);
    } else if (m && strncmp(line, "Facility=", 9) == 0) {
      IH_CHECK(snprintf(m->facility, sizeof m->facility, "%s", line + 9) < (int)sizeof m->facility);
    } else if (m && strncmp(line, "Language=", 9) == 0) {
      in_text = 1;
    }
    p += strcspn(p, "\n");
    if (*p)
      p++;
  }
  return n;
}

typedef struct doc_row {
  long id;
  char levels[64]; /* the level column, e.g. "ERROR/WARNING" */
} doc_row;

/* Rows "| IHnnnn | LEVEL | meaning |" of docs/events.md. */
static size_t parse_doc(const char *doc, doc_row *out)
{
  size_t n = 0;
  for (const char *p = doc; (p = strstr(p, "\n| IH")) != NULL && n < MAX_EVENTS; p++) {
    char *after;
    long id = strtol(p + 5, &after, 10);
    if (after == p + 5 || strncmp(after, " | ", 3) != 0)
      continue;
    out[n].id = id;
    after += 3;
    size_t len = strcspn(after, "|\n");
    while (len && after[len - 1] == ' ')
      len--;
    if (len >= sizeof out[n].levels)
      len = sizeof out[n].levels - 1;
    memcpy(out[n].levels, after, len);
    out[n].levels[len] = '\0';
    n++;
  }
  return n;
}

/* Event Log severity for the most severe of the levels the doc lists. */
static const char *severity_for(const char *levels)
{
  if (strstr(levels, "ERROR"))
    return "Error";
  if (strstr(levels, "WARNING"))
    return "Warning";
  return "Informational";
}

static event events[MAX_EVENTS];
static message messages[MAX_EVENTS];
static doc_row rows[MAX_EVENTS];
static size_t n_events, n_messages, n_rows;

static void test_enum(void)
{
  IH_TEST("events.h: IDs parsed, unique");
  IH_CHECK(n_events >= 37); /* IH1001 .. IH3005 when this test was written */
  for (size_t i = 0; i < n_events; i++) {
    IH_CHECK(events[i].id >= 1000 && events[i].id <= 9999);
    for (size_t j = i + 1; j < n_events; j++)
      if (!IH_CHECK(events[i].id != events[j].id && strcmp(events[i].name, events[j].name) != 0))
        ih_test_note("IH_EV_%s = %ld and IH_EV_%s = %ld", events[i].name, events[i].id, events[j].name, events[j].id);
  }
}

static void test_messages(void)
{
  IH_TEST("messages.mc: one message per ID, named after the enum, with %1");
  for (size_t i = 0; i < n_events; i++) {
    const message *found = NULL;
    int count = 0;
    for (size_t j = 0; j < n_messages; j++)
      if (messages[j].id == events[i].id) {
        found = &messages[j];
        count++;
      }
    if (!IH_EQ_INT(count, 1)) {
      ih_test_note("IH%04ld (IH_EV_%s): %d messages in messages.mc", events[i].id, events[i].name, count);
      continue;
    }
    char want[80];
    IH_CHECK(snprintf(want, sizeof want, "IH_MSG_%s", events[i].name) < (int)sizeof want);
    IH_EQ_STR(found->symbol, want);
    IH_EQ_STR(found->facility, "Application");
    if (!IH_CHECK(strstr(found->text, "%1") != NULL && strchr(found->text, '%') == strstr(found->text, "%1")))
      ih_test_note("IH%04ld: the text must have one insertion string, %%1: %s", events[i].id, found->text);
    IH_CHECK(strlen(found->text) > 4);
  }

  IH_TEST("messages.mc: no message for an ID events.h does not have");
  for (size_t j = 0; j < n_messages; j++) {
    int known = 0;
    for (size_t i = 0; i < n_events; i++)
      known |= messages[j].id == events[i].id;
    if (!IH_CHECK(known))
      ih_test_note("MessageId=%ld (%s) is not in events.h", messages[j].id, messages[j].symbol);
  }
  IH_EQ_INT(n_messages, n_events);
}

static void test_doc(void)
{
  IH_TEST("docs/events.md: one row per ID, and the .mc severity matches its levels");
  for (size_t i = 0; i < n_events; i++) {
    const doc_row *found = NULL;
    int count = 0;
    for (size_t j = 0; j < n_rows; j++)
      if (rows[j].id == events[i].id) {
        found = &rows[j];
        count++;
      }
    if (!IH_EQ_INT(count, 1)) {
      ih_test_note("IH%04ld (IH_EV_%s): %d rows in docs/events.md", events[i].id, events[i].name, count);
      continue;
    }
    IH_CHECK(found->levels[0] != '\0');
    for (size_t j = 0; j < n_messages; j++)
      if (messages[j].id == events[i].id && !IH_EQ_STR(messages[j].severity, severity_for(found->levels)))
        ih_test_note("IH%04ld is %s in docs/events.md", events[i].id, found->levels);
  }

  IH_TEST("docs/events.md: no row for an ID events.h does not have");
  for (size_t j = 0; j < n_rows; j++) {
    int known = 0;
    for (size_t i = 0; i < n_events; i++)
      known |= rows[j].id == events[i].id;
    if (!IH_CHECK(known))
      ih_test_note("row IH%04ld is not in events.h", rows[j].id);
  }
  IH_EQ_INT(n_rows, n_events);
}

static void test_parsers(void)
{
  IH_TEST("the parsers read what they should (so the checks above are not vacuous)");
  message m[4];
  size_t n = parse_mc("; MessageId=9\nMessageId=1002\nSeverity=Warning\nFacility=Application\n"
                      "SymbolicName=IH_MSG_X\nLanguage=English\nText %1\r\nMessageId=7\n.\n\nMessageId=0x3EB\n",
                      m);
  IH_EQ_INT(n, 2);
  IH_EQ_INT(m[0].id, 1002);
  IH_EQ_STR(m[0].symbol, "IH_MSG_X");
  IH_EQ_STR(m[0].severity, "Warning");
  IH_EQ_STR(m[0].text, "Text %1\nMessageId=7\n");
  IH_EQ_INT(m[1].id, 1003);
  event e[4];
  n = parse_enum("/* IH_EV_NOT = 1 */ enum ih_event_id {\n  IH_EV_A = 1001, /* like IH_EV_B */\n"
                 "  IH_EV_C = 2001,\n};\nIH_EV_D = 5", e);
  IH_EQ_INT(n, 2);
  IH_EQ_STR(e[1].name, "C");
  IH_EQ_INT(e[1].id, 2001);
  doc_row r[4];
  n = parse_doc("x\n| ID | level |\n| IH1202 | ERROR/WARNING | text |\n| IH12x | INFO |\n", r);
  IH_EQ_INT(n, 1);
  IH_EQ_INT(r[0].id, 1202);
  IH_EQ_STR(r[0].levels, "ERROR/WARNING");
  IH_EQ_STR(severity_for("INFO/WARNING"), "Warning");
  IH_EQ_STR(severity_for("DEBUG"), "Informational");
}

int main(void)
{
  char *h = read_text("service/core/events.h");
  char *mc = read_text("service/win32/messages.mc");
  char *doc = read_text("docs/events.md");
  test_parsers();
  IH_TEST("the three files are readable");
  if (IH_CHECK(h && mc && doc)) {
    n_events = parse_enum(h, events);
    n_messages = parse_mc(mc, messages);
    n_rows = parse_doc(doc, rows);
    test_enum();
    test_messages();
    test_doc();
  }
  free(h);
  free(mc);
  free(doc);
  return ih_test_finish();
}
