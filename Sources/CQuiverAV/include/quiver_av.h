// Audio and video decoding through FFmpeg (libavformat, libavcodec, libswresample, libswscale),
// wrapped in a few plain C functions so that Swift never touches FFmpeg's macros or structs.
// Every function that can fail returns a negative value and writes a message to `err`.
#ifndef QUIVER_AV_H
#define QUIVER_AV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QAV_TEXT 64

/// What the container says about the decoded audio stream.
typedef struct {
    char container[QAV_TEXT];   ///< demuxer name, e.g. "wav", "ogg", "mov,mp4,m4a,3gp,3g2,mj2"
    char codec[QAV_TEXT];       ///< codec name, e.g. "pcm_s16le", "mp3", "aac"
    char decoder[QAV_TEXT];     ///< FFmpeg decoder, e.g. "mp3float"
    char layout[QAV_TEXT];      ///< channel layout description, e.g. "stereo", "2 channels"
    int stream_index;
    int sample_rate;            ///< source rate in Hz
    int channels;
    double duration;            ///< seconds, or -1 when unknown
    int duration_estimated;     ///< 1 when the duration was estimated from the bit rate
    int64_t bit_rate;           ///< bits/s, 0 when unknown
} qav_audio_info;

typedef struct qav_audio qav_audio;

/// Opens `path`, picks its best audio stream and prepares mono float32 output at `out_rate` Hz.
/// `skip_corrupt`: 1 to drop packets the decoder rejects instead of failing.
int qav_audio_open(const char *path, int out_rate, int skip_corrupt, qav_audio **out,
                   qav_audio_info *info, char *err, size_t errlen);
/// Writes up to `capacity` samples to `dst`; returns the count, 0 at the end, < 0 on error.
long qav_audio_read(qav_audio *a, float *dst, long capacity, char *err, size_t errlen);
/// Seconds of source audio decoded so far (sum of decoded frame lengths at the source rate).
double qav_audio_decoded_seconds(const qav_audio *a);
/// Packets dropped because the decoder rejected them (only with skip_corrupt).
long qav_audio_skipped_packets(const qav_audio *a);
void qav_audio_close(qav_audio *a);

/// What the container says about the decoded video stream.
typedef struct {
    char container[QAV_TEXT];
    char codec[QAV_TEXT];
    char pixel_format[QAV_TEXT]; ///< e.g. "yuv420p" (from the stream parameters)
    int stream_index;
    int width, height;
    double frame_rate;           ///< average frame rate in frames/s, or 0 when unknown
    int64_t frame_count;         ///< frames the container declares (nb_frames), 0 when unknown
    double duration;             ///< seconds, or -1 when unknown
    double start_time;           ///< seconds, or 0 when unknown
    int has_audio;               ///< 1 when the file also has an audio stream
} qav_video_info;

typedef struct qav_video qav_video;

/// Opens `path` and its best video stream. `threads`: decoder threads, 0 = FFmpeg's choice.
int qav_video_open(const char *path, int threads, int skip_corrupt, qav_video **out,
                   qav_video_info *info, char *err, size_t errlen);
/// Decodes the next frame (in the order the decoder returns them). Returns 1 with a frame,
/// 0 at the end, < 0 on error. `time`: pts * time_base in seconds (NAN when the frame has no
/// timestamp); `duration`: the frame's duration in seconds (0 when unknown).
int qav_video_next(qav_video *v, double *time, double *duration, int *width, int *height,
                   char *err, size_t errlen);
/// Converts the current frame to packed RGB24 with swscale (SWS_BILINEAR, the frame's colorspace
/// and range, BT.601 limited range when unspecified) into `dst`, rows `stride` bytes apart.
int qav_video_convert_rgb24(qav_video *v, uint8_t *dst, int stride, char *err, size_t errlen);
/// Counts the packets of the video stream by demuxing `path` without decoding (for files whose
/// container does not declare a frame count). Returns the count or < 0 on error.
int64_t qav_video_count_packets(const char *path, char *err, size_t errlen);
long qav_video_skipped_packets(const qav_video *v);
void qav_video_close(qav_video *v);

#ifdef __cplusplus
}
#endif

#endif
