/* Batch mode's files: which ones (names, folders walked with -r, kmq's
   own outputs left out) and whether two of them would write one file --
   all settled before any work starts.  jobs.c then does them. */
#define _POSIX_C_SOURCE 200809L
#include "batch.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the files ---- */

int batch_add(batch_list *l, const char *path, const char *rel)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        batch_file *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v, l->cap = cap;
    }
    batch_file *f = &l->v[l->n];
    f->path = strdup(path);
    f->rel = strdup(rel);
    if (!f->path || !f->rel) {
        free(f->path), free(f->rel);
        return -1;
    }
    l->n++;
    return 0;
}

void batch_free(batch_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path), free(l->v[i].rel);
    free(l->v);
    *l = (batch_list){0};
}

const char *batch_kmq_output(const char *name)
{
    static const char *const own[] = {".labels.png", ".png8.png", ".decompressed.png", ".swatch.png"};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (ends_with_ci(name, own[i]))
            return own[i];
    return NULL;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One outcome decided while gathering, counted as a file's would be. */
static void count(batch_tally *t, int status)
{
    const batch_result r = {.status = status};
    batch_count(t, &r);
}

/* What a walk does not read: anything but a regular file, such as a FIFO,
   which would block until a writer comes, or a device, which may never
   end.  Named as an argument, they are read: then they were meant. */
static const char *special_kind(mode_t mode)
{
    return S_ISFIFO(mode)   ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
                            : NULL;
}

/* Every input under dir (symbolic links to folders are not followed), in
   name order; rel is the path below the folder argument.  An entry with an
   input's name that cannot be read is a failure (a symbolic link to
   nothing, a folder that cannot be opened), one that is not a file is
   skipped; both are counted in t. */
static int walk(const batch_inputs *in, batch_list *l, const char *dir, const char *rel,
                batch_tally *t)
{
    DIR *d = opendir(dir);
    if (!d) {
        in->failed(in->ctx, dir, strerror(errno));
        count(t, EXIT_FAIL);
        return 0;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* hidden files, and kmq's temporary files */
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n) /* qsort of no names: NULL is not a valid array */
        qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t pl = strlen(dir) + strlen(names[i]) + 2, rl = strlen(rel) + strlen(names[i]) + 2;
        char *path = malloc(pl), *sub = malloc(rl);
        if (path && sub) {
            snprintf(path, pl, "%s/%s", dir, names[i]);
            snprintf(sub, rl, "%s%s%s", rel, *rel ? "/" : "", names[i]);
            struct stat lst, st;
            int have = lstat(path, &lst) == 0;
            int target = stat(path, &st) == 0; /* follows a link to a file */
            const int err = errno; /* of stat, when it failed */
            const char *kind = target ? special_kind(st.st_mode) : NULL;
            if (have && S_ISDIR(lst.st_mode)) {
                if (!(in->skip_dir && lst.st_dev == in->skip_dir->st_dev &&
                      lst.st_ino == in->skip_dir->st_ino)) /* last run's outputs */
                    rc |= walk(in, l, path, sub, t);
            } else if (!have || !in->is_input(in->ctx, names[i])) {
                /* gone since readdir, or not an image's name */
            } else if (target && S_ISREG(st.st_mode)) {
                rc |= batch_add(l, path, sub) != 0;
            } else if (kind) {
                in->not_read(in->ctx, path, kind);
                count(t, FILE_SKIPPED);
            } else if (S_ISLNK(lst.st_mode) && !target) {
                char why[256];
                snprintf(why, sizeof why, err == ENOENT ? "a symbolic link to nothing"
                                                        : "a symbolic link that cannot be followed: %s",
                         strerror(err));
                in->failed(in->ctx, path, why);
                count(t, EXIT_FAIL);
            }
        }
        free(path), free(sub), free(names[i]);
    }
    free(names);
    return rc;
}

int batch_gather(const batch_inputs *in, char *const *args, int nargs, batch_list *l,
                 batch_tally *t)
{
    for (int i = 0; i < nargs; i++) {
        const char *arg = args[i];
        struct stat st;
        const char *own = in->own_output(in->ctx, arg);
        if (in->recursive && stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (walk(in, l, arg, "", t) != 0) {
                cli_error("out of memory");
                return 1;
            }
        } else if (own) { /* `kmq compress *.png` run twice */
            in->skipped(in->ctx, arg, own);
            count(t, FILE_SKIPPED);
        } else {
            const char *slash = strrchr(arg, '/');
            if (batch_add(l, arg, slash ? slash + 1 : arg) != 0) {
                cli_error("out of memory");
                return 1;
            }
        }
    }
    return 0;
}

/* ---- clashes ---- */

typedef struct {
    char *key;
    const char *name; /* the path as the user will read it */
    size_t file;      /* index in the file list */
    int output;       /* 0: the input itself */
} path_entry;

static int cmp_entries(const void *a, const void *b)
{
    const path_entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->file < y->file ? -1 : x->file > y->file;
}

int batch_check_clashes(const char *cmd, const batch_list *files, batch_outputs_fn outputs,
                        void *ctx)
{
    const size_t per_file = BATCH_MAX_OUTPUTS + 1;
    size_t n = 0, cap = files->n * per_file;
    path_entry *e = calloc(cap ? cap : 1, sizeof *e);
    char **names = calloc(cap ? cap : 1, sizeof *names); /* the output names, to free */
    int rc = 0;
    if (!e || !names)
        goto nomem;
    for (size_t i = 0; i < files->n; i++) {
        char *paths[BATCH_MAX_OUTPUTS] = {NULL};
        int nout = outputs(ctx, &files->v[i], paths);
        if (nout < 0)
            goto nomem;
        for (int j = 0; j <= nout; j++) {
            const char *name = j ? paths[j - 1] : files->v[i].path;
            if (!strcmp(name, "-")) {
                free(j ? paths[j - 1] : NULL);
                continue;
            }
            names[n] = j ? paths[j - 1] : NULL;
            e[n] = (path_entry){path_key(name), name, i, j};
            if (!e[n++].key) {
                for (int k = j + 1; k <= nout; k++)
                    free(paths[k - 1]);
                goto nomem;
            }
        }
    }
    qsort(e, n, sizeof *e, cmp_entries);
    /* Two passes: a file given twice is the plainest way to say it. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 1; i < n && !rc; i++) {
            const path_entry *a = &e[i - 1], *b = &e[i];
            if (strcmp(a->key, b->key) || a->file == b->file || (!pass && (a->output || b->output)))
                continue;
            const char *in_a = files->v[a->file].path, *in_b = files->v[b->file].path;
            if (!a->output && !b->output)
                rc = strcmp(in_a, in_b) ? cli_usage(cmd, "'%s' and '%s' are the same file", in_a, in_b)
                                        : cli_usage(cmd, "'%s' is given twice", in_a);
            else if (a->output && b->output)
                rc = cli_usage(cmd, "'%s' and '%s' would both write '%s'", in_a, in_b, a->name);
            else
                rc = cli_usage(cmd, "'%s' would write over the input '%s'",
                               a->output ? in_a : in_b, a->output ? b->name : a->name);
        }
    }
    goto done;
nomem:
    cli_error("out of memory");
    rc = EXIT_FAIL;
done:
    for (size_t i = 0; e && i < n; i++)
        free(e[i].key), free(names[i]);
    free(e), free(names);
    return rc;
}
