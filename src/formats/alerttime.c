/* alerttime.c: RFC 3339 times as Alertmanager writes them
 * (alert_parse_time() in alert.h), for the payload reader and its
 * users. Pure: no local time zone, no libc time functions. */
#include "formats/alert.h"

#include <stdint.h>
#include <string.h>

/* Unix seconds of Go's zero time, 0001-01-01T00:00:00Z. */
#define ZERO_TIME_SEC (-62135596800LL)

struct tparse {
    const char *s;
    size_t len;
    size_t i;
    const char *why;
};

struct civil {
    int year, month, day, hour, minute, second;
    int offset; /* seconds east of UTC */
    int32_t nsec;
};

static int tfail(struct tparse *t, const char *why)
{
    t->why = why;
    return -1;
}

/* num: exactly n decimal digits into *out. */
static int num(struct tparse *t, size_t n, int *out)
{
    int v = 0;

    if (t->len - t->i < n)
        return 0;
    for (size_t k = 0; k < n; k++) {
        char ch = t->s[t->i + k];
        if (ch < '0' || ch > '9')
            return 0;
        v = v * 10 + (ch - '0');
    }
    t->i += n;
    *out = v;
    return 1;
}

/* lit: one byte equal to a or b. */
static int lit(struct tparse *t, char a, char b)
{
    if (t->i >= t->len || (t->s[t->i] != a && t->s[t->i] != b))
        return 0;
    t->i++;
    return 1;
}

static int is_leap(int y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* days_from_civil: days since 1970-01-01 of a proleptic Gregorian date
 * (Howard Hinnant's algorithm; no time zone, no table). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era;
    int64_t yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_date(struct tparse *t, struct civil *cv)
{
    if (!num(t, 4, &cv->year) || !lit(t, '-', '-') || !num(t, 2, &cv->month) ||
        !lit(t, '-', '-') || !num(t, 2, &cv->day))
        return tfail(t, "expected YYYY-MM-DD");
    if (cv->month < 1 || cv->month > 12)
        return tfail(t, "month out of range");
    if (cv->day < 1 || cv->day > month_days(cv->year, cv->month))
        return tfail(t, "day out of range");
    return 0;
}

static int parse_clock(struct tparse *t, struct civil *cv)
{
    if (!lit(t, 'T', 't'))
        return tfail(t, "expected 'T' after the date");
    if (!num(t, 2, &cv->hour) || !lit(t, ':', ':') || !num(t, 2, &cv->minute) ||
        !lit(t, ':', ':') || !num(t, 2, &cv->second))
        return tfail(t, "expected hh:mm:ss");
    if (cv->hour > 23)
        return tfail(t, "hour out of range");
    if (cv->minute > 59)
        return tfail(t, "minute out of range");
    if (cv->second > 59)
        return tfail(t, "second out of range");
    return 0;
}

/* parse_frac: an optional '.' and digits; the first nine count. */
static int parse_frac(struct tparse *t, struct civil *cv)
{
    int32_t scale = 100000000;
    size_t start;

    cv->nsec = 0;
    if (!lit(t, '.', '.'))
        return 0;
    start = t->i;
    while (t->i < t->len && t->s[t->i] >= '0' && t->s[t->i] <= '9') {
        cv->nsec += (t->s[t->i] - '0') * scale;
        scale /= 10;
        t->i++;
    }
    if (t->i == start)
        return tfail(t, "fraction without digits");
    return 0;
}

static int parse_offset(struct tparse *t, struct civil *cv)
{
    int h, m;
    char sign;

    cv->offset = 0;
    if (t->i >= t->len)
        return tfail(t, "missing time zone offset");
    if (lit(t, 'Z', 'z'))
        return 0;
    sign = t->s[t->i];
    if (!lit(t, '+', '-'))
        return tfail(t, "expected 'Z' or a numeric offset");
    if (!num(t, 2, &h) || !lit(t, ':', ':') || !num(t, 2, &m))
        return tfail(t, "expected an offset +hh:mm or -hh:mm");
    if (h > 23 || m > 59)
        return tfail(t, "offset out of range");
    cv->offset = (h * 3600 + m * 60) * (sign == '-' ? -1 : 1);
    return 0;
}

int alert_parse_time(const char *s, size_t len, struct alert_time *out,
                     const char **why)
{
    struct tparse t = {.s = s, .len = len};
    struct civil cv = {0};
    int64_t sec;

    memset(out, 0, sizeof(*out));
    if (parse_date(&t, &cv) < 0 || parse_clock(&t, &cv) < 0 ||
        parse_frac(&t, &cv) < 0 || parse_offset(&t, &cv) < 0)
        goto bad;
    if (t.i != len) {
        t.why = "trailing characters";
        goto bad;
    }
    sec = days_from_civil(cv.year, cv.month, cv.day) * 86400 + cv.hour * 3600 +
          cv.minute * 60 + cv.second - cv.offset;
    if (sec == ZERO_TIME_SEC && cv.nsec == 0) {
        out->unset = true;
        return 0;
    }
    out->sec = sec;
    out->nsec = cv.nsec;
    out->seconds = (double)sec + cv.nsec / 1e9;
    return 0;
bad:
    if (why != NULL)
        *why = t.why;
    return -1;
}
