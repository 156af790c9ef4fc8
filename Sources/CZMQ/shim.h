#ifndef CAIRN_CZMQ_SHIM_H
#define CAIRN_CZMQ_SHIM_H
#include <zmq.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>
#endif
