// Video: decode the best video stream frame by frame and convert chosen frames to RGB24 with
// swscale the way PyAV's frame.to_ndarray(format="rgb24") does (SWS_BILINEAR; the frame's
// colorspace and range, BT.601 limited range when unspecified).
#include "av_common.h"
#include "quiver_av.h"

#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct qav_video {
    qav_stream s;
    struct SwsContext *sws;
};

int qav_video_open(const char *path, int threads, int skip_corrupt, qav_video **out,
                   qav_video_info *info, char *err, size_t errlen) {
    *out = NULL;
    qav_video *v = calloc(1, sizeof *v);
    if (!v) { qav_errorf(err, errlen, "out of memory"); return -1; }
    int ret = qav_stream_open(&v->s, path, AVMEDIA_TYPE_VIDEO, threads, skip_corrupt, err, errlen);
    if (ret < 0) { qav_video_close(v); return ret; }
    const AVStream *st = v->s.fmt->streams[v->s.stream];
    const AVCodecParameters *par = st->codecpar;
    memset(info, 0, sizeof *info);
    qav_copy_text(info->container, v->s.fmt->iformat->name);
    qav_copy_text(info->codec, avcodec_get_name(par->codec_id));
    qav_copy_text(info->pixel_format, av_get_pix_fmt_name(par->format));
    info->stream_index = v->s.stream;
    info->width = par->width;
    info->height = par->height;
    info->frame_rate = st->avg_frame_rate.den ? av_q2d(st->avg_frame_rate) : 0;
    info->frame_count = st->nb_frames > 0 ? st->nb_frames : 0;
    info->duration = qav_stream_duration(&v->s);
    info->start_time = st->start_time != AV_NOPTS_VALUE ? (double)st->start_time * av_q2d(st->time_base) : 0;
    info->has_audio = av_find_best_stream(v->s.fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) >= 0;
    *out = v;
    return 0;
}

int qav_video_next(qav_video *v, double *time, double *duration, int *width, int *height,
                   char *err, size_t errlen) {
    int r = qav_stream_receive(&v->s, err, errlen);
    if (r <= 0) return r;
    const AVFrame *f = v->s.frame;
    double tb = av_q2d(v->s.fmt->streams[v->s.stream]->time_base);
    int64_t pts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
    *time = pts != AV_NOPTS_VALUE ? (double)pts * tb : NAN;
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
    int64_t d = f->duration;
#else
    int64_t d = f->pkt_duration;
#endif
    *duration = d > 0 ? (double)d * tb : 0;
    *width = f->width;
    *height = f->height;
    return 1;
}

static int sws_colorspace(enum AVColorSpace cs) {
    switch (cs) {
    case AVCOL_SPC_BT709: return SWS_CS_ITU709;
    case AVCOL_SPC_FCC: return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
    default: return SWS_CS_DEFAULT;  // BT.601 (BT470BG, SMPTE170M, unspecified)
    }
}

int qav_video_convert_rgb24(qav_video *v, uint8_t *dst, int stride, char *err, size_t errlen) {
    const AVFrame *f = v->s.frame;
    if (!f || f->width <= 0 || !f->data[0]) { qav_errorf(err, errlen, "no decoded frame to convert"); return -1; }
    v->sws = sws_getCachedContext(v->sws, f->width, f->height, f->format, f->width, f->height,
                                  AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
    if (!v->sws) {
        const char *name = av_get_pix_fmt_name(f->format);
        qav_errorf(err, errlen, "swscale cannot convert %s %dx%d to rgb24", name ? name : "?", f->width, f->height);
        return -1;
    }
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3) {
        int full = f->color_range == AVCOL_RANGE_JPEG || f->format == AV_PIX_FMT_YUVJ420P ||
                   f->format == AV_PIX_FMT_YUVJ422P || f->format == AV_PIX_FMT_YUVJ444P ||
                   f->format == AV_PIX_FMT_YUVJ440P || f->format == AV_PIX_FMT_YUVJ411P;
        const int *coef = sws_getCoefficients(sws_colorspace(f->colorspace));
        sws_setColorspaceDetails(v->sws, coef, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    }
    uint8_t *planes[4] = {dst, NULL, NULL, NULL};
    int strides[4] = {stride, 0, 0, 0};
    int h = sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, planes, strides);
    if (h != f->height) { qav_errorf(err, errlen, "swscale converted %d of %d rows", h, f->height); return -1; }
    return 0;
}

int64_t qav_video_count_packets(const char *path, char *err, size_t errlen) {
    qav_quiet_logging();
    AVFormatContext *fmt = NULL;
    int ret = avformat_open_input(&fmt, path, NULL, NULL);
    if (ret < 0) { qav_averror(err, errlen, "cannot open as a media file", ret); return -1; }
    if ((ret = avformat_find_stream_info(fmt, NULL)) < 0) {
        qav_averror(err, errlen, "cannot read the stream headers", ret);
        avformat_close_input(&fmt);
        return -1;
    }
    int idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (idx < 0) { qav_errorf(err, errlen, "no video stream"); avformat_close_input(&fmt); return -2; }
    AVPacket *pkt = av_packet_alloc();
    int64_t n = 0;
    while (pkt && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == idx) n++;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return n;
}

long qav_video_skipped_packets(const qav_video *v) { return v->s.skipped; }

void qav_video_close(qav_video *v) {
    if (!v) return;
    sws_freeContext(v->sws);
    qav_stream_close(&v->s);
    free(v);
}
