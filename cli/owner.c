#include "owner.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_GROUPS 256

struct owner {
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    size_t ngroups;
};

/* The first number of a "Uid:"/"Gid:" line (the real id). */
static int first_id(const char *value, unsigned long *id)
{
    char *end;
    *id = strtoul(value, &end, 10);
    return end == value ? -1 : 0;
}

static void read_groups(const char *value, struct owner *o)
{
    const char *p = value;
    char *end;
    while (o->ngroups < MAX_GROUPS) {
        unsigned long g = strtoul(p, &end, 10);
        if (end == p) break;
        o->groups[o->ngroups++] = (gid_t)g;
        p = end;
    }
}

static int read_owner(long pid, struct owner *o)
{
    char path[64], line[4096];
    unsigned long uid = 0, gid = 0;
    int have = 0;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    memset(o, 0, sizeof *o);
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "Uid:", 4) && !first_id(line + 4, &uid)) have |= 1;
        else if (!strncmp(line, "Gid:", 4) && !first_id(line + 4, &gid)) have |= 2;
        else if (!strncmp(line, "Groups:", 7)) read_groups(line + 7, o);
    }
    fclose(f);
    o->uid = (uid_t)uid;
    o->gid = (gid_t)gid;
    return have == 3 ? 0 : -1;
}

int cli_become_owner_of(long pid, char *err, size_t errlen)
{
    struct owner o;
    if (geteuid() != 0) return 0;
    if (read_owner(pid, &o)) {
        snprintf(err, errlen, "cannot read the owner of process %ld", pid);
        return -1;
    }
    if (o.uid == 0) return 0;
    /* Groups first, then the gid, then the uid: each needs the privilege
     * the next one gives up. */
    if (setgroups(o.ngroups, o.groups) != 0 || setresgid(o.gid, o.gid, o.gid) != 0 ||
        setresuid(o.uid, o.uid, o.uid) != 0) {
        snprintf(err, errlen, "cannot become uid %u, the owner of process %ld", (unsigned)o.uid, pid);
        return -1;
    }
    return 0;
}
