/* libsipreg: the umbrella header. */
#ifndef SIPREG_H
#define SIPREG_H

#include "sipreg/core.h"
#include "sipreg/msg.h"

#endif
