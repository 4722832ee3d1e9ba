/* hmac.c -- HMAC-SHA256, base64, constant-time comparison (lib/). */
#include "crmsync/hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

int crmsync_hmac_sha256(const void *key, size_t key_len,
                        const struct crmsync_iov *parts, size_t n,
                        unsigned char out[CRMSYNC_SHA256_LEN])
{
        static const unsigned char empty[1];
        EVP_MAC                   *mac;
        EVP_MAC_CTX               *ctx = NULL;
        OSSL_PARAM                 params[2];
        size_t                     out_len = 0;
        int                        rc      = -1;

        mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (!mac)
                return -1;
        ctx = EVP_MAC_CTX_new(mac);
        if (!ctx)
                goto out_free_mac;
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                     (char *)"SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();
        if (!EVP_MAC_init(ctx, key_len ? key : empty, key_len, params))
                goto out_free_ctx;
        for (size_t i = 0; i < n; i++)
                if (parts[i].len &&
                    !EVP_MAC_update(ctx, parts[i].p, parts[i].len))
                        goto out_free_ctx;
        if (!EVP_MAC_final(ctx, out, &out_len, CRMSYNC_SHA256_LEN) ||
            out_len != CRMSYNC_SHA256_LEN)
                goto out_free_ctx;
        rc = 0;
out_free_ctx:
        EVP_MAC_CTX_free(ctx);
out_free_mac:
        EVP_MAC_free(mac);
        return rc;
}

int crmsync_base64_encode(const unsigned char *in, size_t len, char *out,
                          size_t out_size)
{
        size_t need = 4 * ((len + 2) / 3) + 1;

        if (!out || out_size < need || len > 0x3fffffff)
                return -1;
        return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int crmsync_ct_equal(const void *a, const void *b, size_t len)
{
        return CRYPTO_memcmp(a, b, len) == 0;
}
