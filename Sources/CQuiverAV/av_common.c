#include "av_common.h"
#include "quiver_av.h"

#include <libavutil/log.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void qav_errorf(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void qav_averror(char *err, size_t errlen, const char *what, int code) {
    char msg[AV_ERROR_MAX_STRING_SIZE] = {0};
    if (av_strerror(code, msg, sizeof msg) < 0) snprintf(msg, sizeof msg, "FFmpeg error %d", code);
    qav_errorf(err, errlen, "%s: %s", what, msg);
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet(void) {
    if (av_log_get_level() == AV_LOG_INFO) av_log_set_level(AV_LOG_FATAL);
}
void qav_quiet_logging(void) { pthread_once(&quiet_once, quiet); }

void qav_copy_text(char *dst, const char *src) {
    snprintf(dst, QAV_TEXT, "%s", src ? src : "");
}

int qav_stream_open(qav_stream *s, const char *path, enum AVMediaType type, int threads,
                    int skip_corrupt, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->stream = -1;
    s->skip_corrupt = skip_corrupt;
    qav_quiet_logging();
    int ret = avformat_open_input(&s->fmt, path, NULL, NULL);
    if (ret < 0) { qav_averror(err, errlen, "cannot open as a media file", ret); return -1; }
    ret = avformat_find_stream_info(s->fmt, NULL);
    if (ret < 0) { qav_averror(err, errlen, "cannot read the stream headers", ret); return -1; }
    const AVCodec *codec = NULL;
    ret = av_find_best_stream(s->fmt, type, -1, -1, &codec, 0);
    if (ret == AVERROR_STREAM_NOT_FOUND) {
        qav_errorf(err, errlen, "no %s stream", av_get_media_type_string(type));
        return -2;
    }
    if (ret == AVERROR_DECODER_NOT_FOUND || (ret >= 0 && !codec)) {
        int idx = ret >= 0 ? ret : av_find_best_stream(s->fmt, type, -1, -1, NULL, 0);
        const char *name = idx >= 0 ? avcodec_get_name(s->fmt->streams[idx]->codecpar->codec_id) : "?";
        qav_errorf(err, errlen, "no decoder for the %s codec \"%s\" in this FFmpeg build",
                   av_get_media_type_string(type), name);
        return -3;
    }
    if (ret < 0) { qav_averror(err, errlen, "cannot select a stream", ret); return -1; }
    s->stream = ret;
    for (unsigned i = 0; i < s->fmt->nb_streams; i++)
        if ((int)i != s->stream) s->fmt->streams[i]->discard = AVDISCARD_ALL;
    s->dec = avcodec_alloc_context3(codec);
    if (!s->dec) { qav_errorf(err, errlen, "out of memory"); return -1; }
    ret = avcodec_parameters_to_context(s->dec, s->fmt->streams[s->stream]->codecpar);
    if (ret < 0) { qav_averror(err, errlen, "bad codec parameters", ret); return -1; }
    s->dec->pkt_timebase = s->fmt->streams[s->stream]->time_base;
    s->dec->thread_count = threads;
    if (type == AVMEDIA_TYPE_VIDEO) s->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    ret = avcodec_open2(s->dec, codec, NULL);
    if (ret < 0) { qav_averror(err, errlen, "cannot open the decoder", ret); return -1; }
    s->pkt = av_packet_alloc();
    s->frame = av_frame_alloc();
    if (!s->pkt || !s->frame) { qav_errorf(err, errlen, "out of memory"); return -1; }
    return 0;
}

static double packet_seconds(const qav_stream *s) {
    const AVStream *st = s->fmt->streams[s->stream];
    int64_t t = s->pkt->pts != AV_NOPTS_VALUE ? s->pkt->pts : s->pkt->dts;
    return t == AV_NOPTS_VALUE ? -1 : (double)t * av_q2d(st->time_base);
}

int qav_stream_receive(qav_stream *s, char *err, size_t errlen) {
    av_frame_unref(s->frame);
    for (;;) {
        int ret = avcodec_receive_frame(s->dec, s->frame);
        if (ret == 0) return 1;
        if (ret == AVERROR_EOF) return 0;
        if (ret != AVERROR(EAGAIN)) {
            if (s->skip_corrupt && ret == AVERROR_INVALIDDATA) { s->skipped++; continue; }
            qav_averror(err, errlen, "decoding failed", ret);
            return -1;
        }
        if (s->input_done) return 0;  // a decoder that wants input after the flush: nothing more
        ret = av_read_frame(s->fmt, s->pkt);
        if (ret < 0) {
            if (ret != AVERROR_EOF && !avio_feof(s->fmt->pb) && !s->skip_corrupt) {
                qav_averror(err, errlen, "cannot read the next packet", ret);
                return -1;
            }
            s->input_done = 1;
            ret = avcodec_send_packet(s->dec, NULL);
            if (ret < 0 && ret != AVERROR_EOF) { qav_averror(err, errlen, "cannot flush the decoder", ret); return -1; }
            continue;
        }
        if (s->pkt->stream_index != s->stream) { av_packet_unref(s->pkt); continue; }
        ret = avcodec_send_packet(s->dec, s->pkt);
        double at = packet_seconds(s);
        av_packet_unref(s->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN)) {
            if (s->skip_corrupt && ret == AVERROR_INVALIDDATA) { s->skipped++; continue; }
            char what[96];
            if (at >= 0) snprintf(what, sizeof what, "the decoder rejected the packet at %.3f s", at);
            else snprintf(what, sizeof what, "the decoder rejected a packet");
            qav_averror(err, errlen, what, ret);
            return -1;
        }
    }
}

double qav_stream_duration(const qav_stream *s) {
    const AVStream *st = s->fmt->streams[s->stream];
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0) return (double)st->duration * av_q2d(st->time_base);
    if (s->fmt->duration != AV_NOPTS_VALUE && s->fmt->duration > 0) return (double)s->fmt->duration / AV_TIME_BASE;
    return -1;
}

void qav_stream_close(qav_stream *s) {
    av_frame_free(&s->frame);
    av_packet_free(&s->pkt);
    avcodec_free_context(&s->dec);
    avformat_close_input(&s->fmt);
}
