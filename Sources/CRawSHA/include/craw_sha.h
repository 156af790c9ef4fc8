#ifndef CAIRN_CRAW_SHA_H
#define CAIRN_CRAW_SHA_H
#include <stdint.h>

/// The raw limit for header hashing: the same midstate SHA-256d loop as
/// ChainCore's HeaderHasher, written in plain C over OpenSSL's SHA256_Transform.
/// Hashes `count` nonces of an 80-byte header and returns how many hashes had
/// a first byte (display order: last byte) of zero, so the work is not optimised away.
uint64_t cairn_raw_sha256d_scan(const uint8_t header[80], uint32_t start, uint32_t count);

#endif
