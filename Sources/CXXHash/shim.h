#ifndef INLINELB_CXXHASH_SHIM_H
#define INLINELB_CXXHASH_SHIM_H
#include <xxhash.h>
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
#endif
#endif
