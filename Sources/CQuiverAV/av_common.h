// Shared pieces of the audio and video decoders: opening a stream, the receive/send loop,
// error messages.
#ifndef QUIVER_AV_COMMON_H
#define QUIVER_AV_COMMON_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <stddef.h>

/// One open stream with its decoder.
typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    int stream;
    int skip_corrupt;
    int input_done;
    long skipped;
} qav_stream;

void qav_errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/// "<what>: <FFmpeg's message for code>".
void qav_averror(char *err, size_t errlen, const char *what, int code);
/// Quiets FFmpeg's logging once, unless the application already chose a level.
void qav_quiet_logging(void);

/// Opens `path`, finds the best stream of `type` and opens its decoder.
int qav_stream_open(qav_stream *s, const char *path, enum AVMediaType type, int threads,
                    int skip_corrupt, char *err, size_t errlen);
/// Decodes the next frame into s->frame: 1 = frame, 0 = end of stream, < 0 = error.
int qav_stream_receive(qav_stream *s, char *err, size_t errlen);
void qav_stream_close(qav_stream *s);
/// The stream's duration in seconds (stream, else container), -1 when unknown.
double qav_stream_duration(const qav_stream *s);
/// Copies a C string into a QAV_TEXT field.
void qav_copy_text(char *dst, const char *src);

#endif
