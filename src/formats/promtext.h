/* promtext.h: a streaming parser for the Prometheus text exposition
 * format 0.0.4 (what a node serves on /metrics).
 *
 *   static int want(const char *name, size_t len, void *ctx)
 *   {
 *       return promtext_streq(name, len, "stemedb_assertions_indexed_total");
 *   }
 *   static int on_sample(const struct promtext_sample *s, void *ctx)
 *   {
 *       ... s->value, promtext_label_find(s->labels, s->nlabels, "replica")
 *       return 0;
 *   }
 *   struct promtext_handler h = {.want = want, .sample = on_sample};
 *   struct promtext_error err;
 *   if (promtext_parse(body, len, &h, &err) < 0)
 *       log_msg(LOG_WARN, "... line=%zu reason=\"%s\"", err.line, err.msg);
 *
 * The parser is pure: it reads the buffer it is given (which need not be
 * NUL-terminated), calls the handler, and allocates at most one scratch
 * buffer per call (only when a wanted sample has labels or a wanted HELP
 * line is reported), never one per sample.
 *
 * What is accepted (decisions where the format leaves room):
 * - Lines end with '\n'. The last line may lack it: it is then parsed like
 *   any other line, so a complete sample is accepted and a line cut inside
 *   a token ("foo{a=\"b", "foo", "# TYPE foo") is an error. A sample cut
 *   between digits ("foo 12" of "foo 123") cannot be told apart from a
 *   complete one and is accepted. '\r' is not a line end and is rejected
 *   where it is not allowed (after a value, for instance).
 * - Spaces and tabs separate tokens; they may also lead a line, surround
 *   '{', '}', '=' and ',' in a label set, and trail a line. A value must
 *   be separated from the name or the label set by at least one blank.
 * - Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 *   [a-zA-Z_][a-zA-Z0-9_]*; the label name __name__ is reserved and
 *   rejected, as a repeated label name in one sample is.
 * - Label values are valid UTF-8 with the escapes \\ \" and \n; help text
 *   is valid UTF-8 with the escapes \\ and \n. Any other escape is an
 *   error.
 * - Values: decimal floats "[+-]?(D+(.D*)?|.D+)([eE][+-]?D+)?" (at most
 *   PROMTEXT_MAX_VALUE bytes), "[+-]?Inf" and "NaN", both
 *   case-insensitive ("inf", "-INF", "nan"). Hex floats, "infinity",
 *   signed NaN and anything else are errors. A decimal too large for a
 *   double becomes +-Inf.
 * - Timestamps: an optional integer of milliseconds, "[+-]?D+", which must
 *   fit an int64_t.
 * - "# HELP name [text]" needs a name, "# TYPE name type" needs a name and
 *   one of counter, gauge, histogram, summary, untyped (lower case) and
 *   nothing after it. Any other line starting with '#' is a comment.
 * - No NUL byte anywhere, no line longer than PROMTEXT_MAX_LINE bytes
 *   (without its '\n'), no more than PROMTEXT_MAX_LABELS labels per sample.
 * - Whether the input is valid never depends on the handler: samples the
 *   want() filter refuses are validated as fully as the others; only their
 *   label unescaping and value conversion are skipped. The exception is a
 *   handler with skip_unwanted set (see there): it trades that for speed.
 * - Not checked (they need memory across lines): one HELP/TYPE per family,
 *   TYPE before the family's samples, grouping of a family's lines, the
 *   structure of histograms and summaries, duplicate series. */
#ifndef REPLGUARD_PROMTEXT_H
#define REPLGUARD_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

/* Longest accepted line in bytes, not counting its '\n'. */
#define PROMTEXT_MAX_LINE 65536
/* Most labels accepted in one sample. */
#define PROMTEXT_MAX_LABELS 64
/* Longest accepted value token in bytes. */
#define PROMTEXT_MAX_VALUE 128

/* promtext_parse returns this when a handler callback asked it to stop. */
#define PROMTEXT_STOPPED 1

enum promtext_type {
    PROMTEXT_UNTYPED,
    PROMTEXT_COUNTER,
    PROMTEXT_GAUGE,
    PROMTEXT_HISTOGRAM,
    PROMTEXT_SUMMARY,
};

/* One label of a sample. name and value are NUL-terminated copies in the
 * parser's scratch buffer (value already unescaped, so value_len counts
 * the unescaped bytes); both are valid only during the callback. Not the
 * shared struct label (lib/labels.h): the parser first holds labels as
 * slices of the input line (not NUL-terminated, so lengths travel with
 * them), and the lengths let callers bound copies without strlen; it is
 * scratch for one callback, not a set anyone keeps or searches. */
struct promtext_label {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* One sample as handed to promtext_handler.sample. Everything it points to
 * is valid only during the callback; copy what you keep. */
struct promtext_sample {
    const char *name; /* into the input buffer, not NUL-terminated */
    size_t name_len;
    const struct promtext_label *labels; /* in input order */
    size_t nlabels;
    double value;         /* may be NaN or +-Inf */
    int has_timestamp;    /* 1 when the line carries a timestamp */
    int64_t timestamp_ms; /* milliseconds since the epoch; 0 when absent */
    size_t line;          /* 1-based line number in the input */
};

/* Callbacks; every member may be NULL. A callback that returns nonzero
 * stops the parse (promtext_parse then returns PROMTEXT_STOPPED). */
struct promtext_handler {
    /* want: decides from the metric name alone (a pointer into the input,
     * not NUL-terminated) whether sample, help and type are called for
     * that line; nonzero means yes. NULL wants everything. */
    int (*want)(const char *name, size_t len, void *ctx);
    /* sample: one call per wanted sample line. */
    int (*sample)(const struct promtext_sample *s, void *ctx);
    /* help: a wanted "# HELP" line; text is unescaped, NUL-terminated and
     * valid only during the call; name points into the input. */
    int (*help)(const char *name, size_t name_len, const char *text,
                size_t text_len, void *ctx);
    /* type: a wanted "# TYPE" line; name points into the input. */
    int (*type)(const char *name, size_t name_len, enum promtext_type type,
                void *ctx);
    void *ctx; /* passed to every callback */
    /* skip_unwanted: nonzero skips, without validating them, the lines
     * that reach no callback: a comment line (HELP and TYPE too) when
     * help and type are both NULL, a sample line whose leading metric
     * name want() refuses or that does not start with a valid name.
     * Such a line costs a search for its end and a look at its name;
     * only its length and NUL bytes are still checked, and it is not
     * counted in promtext_error.samples. Every line that reaches a
     * callback is validated in full as before. A reader that needs a
     * few families of a large exposition sets it (the stemedb profile:
     * a garbled family it does not read no longer fails its scrape). */
    int skip_unwanted;
};

/* The outcome of a parse: where and why it failed, and what it counted.
 * Filled on success too. */
struct promtext_error {
    size_t line;     /* 1-based line of the error or of the stop; 0 if none */
    size_t column;   /* 1-based byte column of the error; 0 if none */
    const char *msg; /* static reason text; NULL on success */
    size_t samples;  /* valid sample lines read */
    size_t passed;   /* samples handed to handler->sample */
};

/* promtext_parse: parses len bytes at data (NUL termination not needed;
 * data may be NULL when len is 0), calling the handler (which may be NULL:
 * then it only validates). Nothing the caller must free. Returns 0 when
 * the whole input is valid, PROMTEXT_STOPPED when a callback returned
 * nonzero, or -EINVAL at the first invalid line; err (may be NULL) then
 * holds its line, column and a short static reason. */
int promtext_parse(const char *data, size_t len,
                   const struct promtext_handler *h,
                   struct promtext_error *err);

/* promtext_label_find: the label called name (NUL-terminated) among
 * labels[0..n), or NULL. The result points into labels. */
const struct promtext_label *
promtext_label_find(const struct promtext_label *labels, size_t n,
                    const char *name);

/* promtext_streq: 1 when the len bytes at p equal the C string s, else 0;
 * handy for want() and for metric names. */
int promtext_streq(const char *p, size_t len, const char *s);

/* promtext_type_name: "counter", "gauge", ... for a type; "untyped" for an
 * unknown value. The string is static. */
const char *promtext_type_name(enum promtext_type type);

#endif
