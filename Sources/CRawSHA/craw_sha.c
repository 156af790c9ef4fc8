#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <string.h>
#include "craw_sha.h"

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

uint64_t cairn_raw_sha256d_scan(const uint8_t header[80], uint32_t start, uint32_t count) {
    SHA256_CTX initial, mid, ctx;
    uint8_t tail[64] = {0}, second[64] = {0};
    uint64_t hits = 0;
    SHA256_Init(&initial);
    mid = initial;
    SHA256_Update(&mid, header, 64);
    memcpy(tail, header + 64, 16);
    tail[16] = 0x80; tail[62] = 0x02; tail[63] = 0x80;
    second[32] = 0x80; second[62] = 0x01; second[63] = 0x00;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t nonce = start + i;
        tail[12] = (uint8_t)nonce; tail[13] = (uint8_t)(nonce >> 8);
        tail[14] = (uint8_t)(nonce >> 16); tail[15] = (uint8_t)(nonce >> 24);
        ctx = mid;
        SHA256_Transform(&ctx, tail);
        for (int k = 0; k < 8; k++) put_be32(second + 4 * k, ctx.h[k]);
        ctx = initial;
        SHA256_Transform(&ctx, second);
        if ((ctx.h[7] & 0xff) == 0) hits++;
    }
    return hits;
}
