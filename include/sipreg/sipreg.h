/* libsipreg: the umbrella header. */
#ifndef SIPREG_H
#define SIPREG_H

#include "sipreg/auth.h"
#include "sipreg/client.h"
#include "sipreg/core.h"
#include "sipreg/msg.h"
#include "sipreg/registrar.h"
#include "sipreg/server.h"
#include "sipreg/store.h"
#include "sipreg/txn.h"

#endif
