// Audio: decode the best audio stream, downmix to mono and resample to float32 at the requested
// rate with libswresample's default settings (what av.AudioResampler / FFmpeg's aresample do).
#include "av_common.h"
#include "quiver_av.h"

#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <stdlib.h>
#include <string.h>

struct qav_audio {
    qav_stream s;
    SwrContext *swr;
    AVChannelLayout in_layout;
    int in_format, in_rate;
    int out_rate;
    float *buf;
    long buf_len, buf_pos, buf_cap;
    int done;
    double decoded_seconds;
};

static int reserve(qav_audio *a, long extra) {
    if (a->buf_pos == a->buf_len) a->buf_pos = a->buf_len = 0;
    if (a->buf_len + extra <= a->buf_cap) return 0;
    long cap = a->buf_cap ? a->buf_cap : 4096;
    while (cap < a->buf_len + extra) cap *= 2;
    float *p = realloc(a->buf, (size_t)cap * sizeof(float));
    if (!p) return -1;
    a->buf = p;
    a->buf_cap = cap;
    return 0;
}

/// Drains the resampler's delayed samples into the buffer.
static int flush_swr(qav_audio *a, char *err, size_t errlen) {
    if (!a->swr) return 0;
    for (;;) {
        int want = swr_get_out_samples(a->swr, 0);
        if (want <= 0) want = 256;
        if (reserve(a, want) < 0) { qav_errorf(err, errlen, "out of memory"); return -1; }
        uint8_t *out = (uint8_t *)(a->buf + a->buf_len);
        int n = swr_convert(a->swr, &out, want, NULL, 0);
        if (n < 0) { qav_averror(err, errlen, "resampling failed", n); return -1; }
        if (n == 0) return 0;
        a->buf_len += n;
    }
}

/// (Re)creates the resampler for the format of `f`.
static int setup_swr(qav_audio *a, const AVFrame *f, char *err, size_t errlen) {
    AVChannelLayout layout = {0};
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || av_channel_layout_check(&f->ch_layout) == 0)
        av_channel_layout_default(&layout, f->ch_layout.nb_channels);
    else if (av_channel_layout_copy(&layout, &f->ch_layout) < 0) { qav_errorf(err, errlen, "out of memory"); return -1; }
    if (a->swr && a->in_format == f->format && a->in_rate == f->sample_rate &&
        av_channel_layout_compare(&layout, &a->in_layout) == 0) {
        av_channel_layout_uninit(&layout);
        return 0;
    }
    if (flush_swr(a, err, errlen) < 0) { av_channel_layout_uninit(&layout); return -1; }
    swr_free(&a->swr);
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    int ret = swr_alloc_set_opts2(&a->swr, &mono, AV_SAMPLE_FMT_FLT, a->out_rate,
                                  &layout, f->format, f->sample_rate, 0, NULL);
    if (ret >= 0) ret = swr_init(a->swr);
    if (ret < 0) {
        char desc[QAV_TEXT];
        av_channel_layout_describe(&layout, desc, sizeof desc);
        char what[160];
        snprintf(what, sizeof what, "cannot convert %s %s at %d Hz to mono", desc,
                 av_get_sample_fmt_name(f->format) ? av_get_sample_fmt_name(f->format) : "?", f->sample_rate);
        qav_averror(err, errlen, what, ret);
        av_channel_layout_uninit(&layout);
        return -1;
    }
    av_channel_layout_uninit(&a->in_layout);
    a->in_layout = layout;
    a->in_format = f->format;
    a->in_rate = f->sample_rate;
    return 0;
}

int qav_audio_open(const char *path, int out_rate, int skip_corrupt, qav_audio **out,
                   qav_audio_info *info, char *err, size_t errlen) {
    *out = NULL;
    if (out_rate <= 0) { qav_errorf(err, errlen, "output sample rate must be positive, got %d", out_rate); return -1; }
    qav_audio *a = calloc(1, sizeof *a);
    if (!a) { qav_errorf(err, errlen, "out of memory"); return -1; }
    a->out_rate = out_rate;
    int ret = qav_stream_open(&a->s, path, AVMEDIA_TYPE_AUDIO, 1, skip_corrupt, err, errlen);
    if (ret < 0) { qav_audio_close(a); return ret; }
    const AVCodecParameters *par = a->s.fmt->streams[a->s.stream]->codecpar;
    memset(info, 0, sizeof *info);
    qav_copy_text(info->container, a->s.fmt->iformat->name);
    qav_copy_text(info->codec, avcodec_get_name(par->codec_id));
    qav_copy_text(info->decoder, a->s.dec->codec->name);
    av_channel_layout_describe(&par->ch_layout, info->layout, sizeof info->layout);
    info->stream_index = a->s.stream;
    info->sample_rate = par->sample_rate;
    info->channels = par->ch_layout.nb_channels;
    info->duration = qav_stream_duration(&a->s);
    info->duration_estimated = a->s.fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE;
    info->bit_rate = par->bit_rate ? par->bit_rate : a->s.fmt->bit_rate;
    *out = a;
    return 0;
}

long qav_audio_read(qav_audio *a, float *dst, long capacity, char *err, size_t errlen) {
    long n = 0;
    while (n < capacity) {
        if (a->buf_pos < a->buf_len) {
            long take = a->buf_len - a->buf_pos;
            if (take > capacity - n) take = capacity - n;
            memcpy(dst + n, a->buf + a->buf_pos, (size_t)take * sizeof(float));
            a->buf_pos += take;
            n += take;
            continue;
        }
        if (a->done) break;
        int r = qav_stream_receive(&a->s, err, errlen);
        if (r < 0) return -1;
        if (r == 0) {
            if (flush_swr(a, err, errlen) < 0) return -1;
            a->done = 1;
            continue;
        }
        AVFrame *f = a->s.frame;
        if (f->nb_samples <= 0) continue;
        if (setup_swr(a, f, err, errlen) < 0) return -1;
        int want = swr_get_out_samples(a->swr, f->nb_samples);
        if (want < 0) { qav_averror(err, errlen, "resampling failed", want); return -1; }
        if (reserve(a, want + 1) < 0) { qav_errorf(err, errlen, "out of memory"); return -1; }
        uint8_t *o = (uint8_t *)(a->buf + a->buf_len);
        int got = swr_convert(a->swr, &o, want + 1, (const uint8_t **)f->extended_data, f->nb_samples);
        if (got < 0) { qav_averror(err, errlen, "resampling failed", got); return -1; }
        a->buf_len += got;
        a->decoded_seconds += (double)f->nb_samples / f->sample_rate;
    }
    return n;
}

double qav_audio_decoded_seconds(const qav_audio *a) { return a->decoded_seconds; }
long qav_audio_skipped_packets(const qav_audio *a) { return a->s.skipped; }

void qav_audio_close(qav_audio *a) {
    if (!a) return;
    swr_free(&a->swr);
    av_channel_layout_uninit(&a->in_layout);
    free(a->buf);
    qav_stream_close(&a->s);
    free(a);
}
