/* Temporary output files removed when the process is interrupted
   (src/cli/signals.c): the CLI's process-wide state, never the library's. */
#ifndef KMQ_CLI_SIGNALS_H
#define KMQ_CLI_SIGNALS_H

#include "kmq.h"

/* Installs handlers for SIGINT, SIGTERM, SIGHUP and SIGPIPE that remove the
   pending temporary files and then die of the same signal.  Call once from
   main. */
void install_signal_cleanup(void);

/* The guard every output file of the CLI is opened with (kmq_outfile_open,
   kmq_files_write): it lists the temporary files for the handler, and holds
   the signals while the list or a pair's names change. */
const kmq_temp_guard *cli_temp_guard(void);

#endif
