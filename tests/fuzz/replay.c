/* A main for the fuzz targets when there is no libFuzzer (gcc builds): runs
   the target once on every file named, or found under a folder named, and
   reports how many.  `make test` replays the corpus and the regression files
   this way, with and without sanitizers. */
#define _DEFAULT_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static long replayed;

static int replay(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        struct dirent **names;
        int n = scandir(path, &names, NULL, alphasort), rc = 0;
        if (n < 0) {
            perror(path);
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (names[i]->d_name[0] != '.') {
                char sub[4096];
                snprintf(sub, sizeof sub, "%s/%s", path, names[i]->d_name);
                rc |= replay(sub);
            }
            free(names[i]);
        }
        free(names);
        return rc;
    }
    uint8_t *buf;
    size_t len;
    if (kmq_read_file(path, 0, &buf, &len) != KMQ_OK) {
        perror(path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    replayed++;
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= replay(argv[i]);
    printf("%ld inputs replayed\n", replayed);
    return rc;
}
