// fuzz_tok_json.c — libFuzzer target for the tokenizer.json loader: any bytes either open as a
// tokenizer (which then encodes and decodes a fixed text) or fail with a message that starts with
// the file name. Seed corpus: the mini-*/tokenizer.json fixtures and small hand-written files.
//   cmake -DWICK_FUZZ=ON -DCMAKE_C_COMPILER=clang; ./fuzz_tok_json -max_len=70000 corpus-tok-json
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wick.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wick_tokenizer *tk = NULL;
    wick_status rc = wick_tokenizer_open_json_mem("fz.json", data, size, NULL, &tk);
    if (rc < 0) {
        if (tk || strncmp(wick_errmsg(), "fz.json: ", 9) != 0) {
            fprintf(stderr, "bad failure: %d %s\n", rc, wick_errmsg());
            abort();
        }
        return 0;
    }
    static const char text[] = "Hello, wörld! <|im_end|> 12345 日本語 🤖\n\t  x";
    for (unsigned flags = 0; flags < 4; flags++) {
        int32_t *ids = NULL;
        size_t n = 0;
        // a model without an unknown token fails on text it cannot spell (as HF does), naming
        // the file
        wick_status erc = wick_tokenize_alloc(tk, text, sizeof text - 1, flags, &ids, &n);
        if (erc == WICK_E_FORMAT && strncmp(wick_errmsg(), "fz.json: ", 9) == 0) { continue; }
        if (erc < 0) { abort(); }
        char *out = NULL;
        size_t ol = 0;
        if (wick_detokenize(tk, ids, n, flags & 1, &out, &ol) < 0) { abort(); }
        wick_free(out);
        wick_free(ids);
    }
    wick_tokenizer_close(tk);
    return 0;
}
