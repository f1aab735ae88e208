// zlib, for reading gzip-compressed vocabulary files (CLIP's bpe_simple_vocab_16e6.txt.gz).
#include <zlib.h>
