// FFmpeg's libraries as a Clang module (Debian: libavformat-dev libavcodec-dev libavutil-dev
// libswresample-dev libswscale-dev). QuiverMedia reaches them through CQuiverAV, which wraps
// the macros and the decode loops in plain C functions.
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
