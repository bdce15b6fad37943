/* kmq: the command-line front end.  Parses, dispatches, reports. */
#include "cli.h"

#include <string.h>

static void help_main(FILE *out)
{
    fputs("Usage: kmq COMMAND [options] ...\n"
          "Colour quantization by exact k-means: an image becomes a label PNG plus a\n"
          "small codebook of K colours, and back.\n"
          "\n"
          "Commands:\n"
          "  compress [options] INPUT...          image -> label PNG + codebook\n"
          "                                       (or one palette PNG: --format png8)\n"
          "  decompress [options] LABELS CODEBOOK labels + codebook -> image\n"
          "  decompress [options] PNG8            palette PNG -> true-colour image\n"
          "  compare [options] A B                MSE, PSNR and largest difference\n"
          "  palette [options] CODEBOOK           the codebook's colours as a swatch PNG\n"
          "  help [COMMAND]                       show help for a command\n"
          "\n"
          "  -h, --help       show this help\n"
          "  -V, --version    show the version\n"
          "\n"
          "Example:\n"
          "  kmq compress photo.png -k 128\n"
          "  kmq decompress photo.labels.png photo.codebook.bin -o photo.k128.png\n"
          "\n"
          "Exit status: 0 success, 1 failure (bad input, I/O), 2 usage error.\n",
          out);
}

static int run(int argc, char **argv);

int main(int argc, char **argv)
{
    int rc = run(argc, argv);
    if (cli_close_stdout() != 0 && rc != EXIT_USAGE)
        rc = EXIT_FAIL;
    return rc;
}

static int run(int argc, char **argv)
{
    install_signal_cleanup();
    if (argc < 2) {
        help_main(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "compress"))
        return cmd_compress(argc - 1, argv + 1);
    if (!strcmp(cmd, "decompress"))
        return cmd_decompress(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "palette"))
        return cmd_palette(argc - 1, argv + 1);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        help_main(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("kmq %s\n", kmq_version());
        return EXIT_OK;
    }
    if (!strcmp(cmd, "help")) {
        if (argc < 3) {
            help_main(stdout);
            return EXIT_OK;
        }
        if (!strcmp(argv[2], "compress"))
            help_compress(stdout);
        else if (!strcmp(argv[2], "decompress"))
            help_decompress(stdout);
        else if (!strcmp(argv[2], "compare"))
            help_compare(stdout);
        else if (!strcmp(argv[2], "palette"))
            help_palette(stdout);
        else {
            fprintf(stderr, "kmq: no help for unknown command '%s'\nTry 'kmq --help'.\n", argv[2]);
            return EXIT_USAGE;
        }
        return EXIT_OK;
    }
    fprintf(stderr, "kmq: unknown command '%s'\nTry 'kmq --help'.\n", cmd);
    return EXIT_USAGE;
}
