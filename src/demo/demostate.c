/* demostate.c: the demo's state directory and runbooks. */
#include "demo/demostate.h"

#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARK ".replguard-demo"

static int unlink_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level == 0)
        return 0; /* the directory itself stays */
    return remove(path) == 0 ? 0 : -1;
}

/* empty_or_marked: dir has no entries, or has the demo's mark. */
static bool empty_or_marked(const char *dir)
{
    char mark[1024];
    snprintf(mark, sizeof(mark), "%s/%s", dir, MARK);
    if (access(mark, F_OK) == 0)
        return true;
    DIR *d = opendir(dir);
    if (!d)
        return false;
    const struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

int demostate_prepare(const char *dir, bool keep, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot make %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!empty_or_marked(dir)) {
        snprintf(err, errlen,
                 "%s is not a demo state directory (no %s in it): "
                 "remove it or set REPLGUARD_DEMO_DIR",
                 dir, MARK);
        return -1;
    }
    if (!keep && nftw(dir, unlink_one, 16, FTW_DEPTH | FTW_PHYS) < 0) {
        snprintf(err, errlen, "cannot empty %s: %s", dir, strerror(errno));
        return -1;
    }
    char mark[1024];
    snprintf(mark, sizeof(mark), "%s/%s", dir, MARK);
    FILE *f = fopen(mark, "w");
    if (!f || fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", mark, strerror(errno));
        return -1;
    }
    return 0;
}

void demostate_rewrite(const char *line, char *out, size_t outlen)
{
    size_t ind = strspn(line, " ");
    const char *p = line + ind;
    if (ind == 0 && strncmp(p, "cooldown:", 9) == 0)
        snprintf(out, outlen, "cooldown: %s # the demo's; shipped:%s",
                 DEMO_COOLDOWN, p + 9);
    else if (ind == 0 && strncmp(p, "max_actions_per_hour:", 21) == 0)
        snprintf(out, outlen,
                 "max_actions_per_hour: %d # the demo's; "
                 "shipped:%s",
                 DEMO_MAX_PER_HOUR, p + 21);
    else
        snprintf(out, outlen, "%s", line);
}

static int copy_rules(const char *src, const char *dst)
{
    FILE *in = fopen(src, "r"), *out = in ? fopen(dst, "w") : NULL;
    char line[1024], rewritten[1200];
    while (out && fgets(line, sizeof(line), in)) {
        demostate_rewrite(line, rewritten, sizeof(rewritten));
        fputs(rewritten, out);
    }
    if (in)
        fclose(in);
    return out && fclose(out) == 0 ? 0 : -1;
}

static bool is_yml(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".yml") == 0;
}

int demostate_rules(const char *rules_src, const char *dir, char *err,
                    size_t errlen)
{
    char dst_dir[1024], src[2048], dst[2048];
    snprintf(dst_dir, sizeof(dst_dir), "%s/rules", dir);
    DIR *d = opendir(rules_src);
    if (!d || (mkdir(dst_dir, 0700) < 0 && errno != EEXIST)) {
        snprintf(err, errlen, "cannot copy %s to %s: %s", rules_src, dst_dir,
                 strerror(errno));
        if (d)
            closedir(d);
        return -1;
    }
    int n = 0;
    const struct dirent *e;
    while (n >= 0 && (e = readdir(d)) != NULL) {
        if (!is_yml(e->d_name))
            continue;
        snprintf(src, sizeof(src), "%s/%s", rules_src, e->d_name);
        snprintf(dst, sizeof(dst), "%s/%s", dst_dir, e->d_name);
        if (copy_rules(src, dst) < 0) {
            snprintf(err, errlen, "cannot copy %s to %s", src, dst);
            n = -1;
        } else {
            n++;
        }
    }
    closedir(d);
    return n;
}

const char *demostate_share(void)
{
    char probe[1024];
    snprintf(probe, sizeof(probe), "%s/rules", REPLGUARD_SRCDIR);
    return access(probe, R_OK) == 0 ? REPLGUARD_SRCDIR : REPLGUARD_PKGDATADIR;
}

void demostate_docs(char *doc, size_t doclen, char *example, size_t exlen)
{
    const char *share = demostate_share();
    bool src = strcmp(share, REPLGUARD_SRCDIR) == 0;
    snprintf(doc, doclen, "%s/config.md",
             src ? REPLGUARD_SRCDIR "/docs" : REPLGUARD_DOCDIR);
    snprintf(example, exlen, "%s/contrib/replguard.yml", share);
}
