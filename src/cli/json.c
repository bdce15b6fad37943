/* JSON values for the CLI's --json lines. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), 0 if it is not one:
   no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_length(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    int n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
          : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (p[0] == 0xE0)
        lo = 0xA0;
    else if (p[0] == 0xED)
        hi = 0x9F;
    else if (p[0] == 0xF0)
        lo = 0x90;
    else if (p[0] == 0xF4)
        hi = 0x8F;
    for (int i = 1; i < n; i++)
        if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF))
            return 0;
    return n;
}

void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_length(p);
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7F)
            fprintf(out, "\\u%04x", *p);
        else if (n)
            fwrite(p, 1, (size_t)n, out);
        else
            fputs("\\ufffd", out); /* not UTF-8: JSON cannot carry the byte */
        p += n ? n : 1;
    }
    fputc('"', out);
}

void json_psnr(FILE *out, double psnr)
{
    if (isinf(psnr))
        fputs("null", out);
    else
        fprintf(out, "%.4f", psnr);
}

void json_psnr_over(FILE *out, double black, double white)
{
    fputs(", \"psnr_black\": ", out);
    json_psnr(out, black);
    fputs(", \"psnr_white\": ", out);
    json_psnr(out, white);
}
