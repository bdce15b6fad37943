/* src/pipeline: whole jobs over the layers below: an image file to a label
 * PNG and codebook (or PNG8), and back, in memory or streamed in bands. */
#ifndef KMQ_PIPELINE_H
#define KMQ_PIPELINE_H

#include "formats.h"

#endif
