/* The text kmq_last_why() returns (src/shared/why.c): one line per thread
   saying why the calling thread's last kmq call failed. */
#ifndef KMQ_SHARED_WHY_H
#define KMQ_SHARED_WHY_H

#include "kmq.h"

/* Forgets the text.  Every public function that returns a kmq_status
   starts with it (or with a public call that does), so that a failure
   with nothing to add leaves "" and not an earlier call's words. */
void kmq_why_clear(void);

/* Records the formatted text and returns status. */
kmq_status kmq_why(kmq_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* kmq_why(KMQ_ERR_ARG, ...): the text names the argument or field and its
   value, as "params.k = 300 is outside 2..256" or "labels is NULL". */
kmq_status kmq_arg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The end of a public function with a *why out-parameter, whose body put
   its text (or NULL) in `text`: that text becomes kmq_last_why()'s too; a
   KMQ_ERR_ARG without one takes what kmq_arg recorded, for *why as well.
   Any other status without text, or success, leaves "".  Sets *why (if
   why is not NULL) and returns s. */
kmq_status kmq_why_out(kmq_status s, const char *text, const char **why);

#endif
