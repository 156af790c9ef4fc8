#ifndef CAIRN_COPENSSL_SHIM_H
#define CAIRN_COPENSSL_SHIM_H
/* SHA256_Transform is deprecated in OpenSSL 3 but is the only way to reuse a
   midstate; it stays available. Silence the attribute, not the API. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#endif
