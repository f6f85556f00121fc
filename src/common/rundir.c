#include "common/rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


void np_rundir_path_of(uid_t uid, char *out, size_t len)
{
    snprintf(out, len, "/tmp/nodeprof-%u", (unsigned)uid);
}

void np_rundir_path(char *out, size_t len)
{
    np_rundir_path_of(geteuid(), out, len);
}

int np_rundir_ensure(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077)) {
        snprintf(err, errlen, "refusing %s: not a private directory owned by uid %u",
                 dir, (unsigned)geteuid());
        return -1;
    }
    return 0;
}
