/// One clip for the multimodal Perceiver: video frames and the sound that goes with them, in the
/// form transformers' `PerceiverForMultimodalAutoencoding` takes (`image` [T, C, H, W] and
/// `audio` [samples, 1] of one batch item), already scaled the way the model expects.
///
/// The label modality has no field: the model replaces its label input with a learned mask token
/// (transformers masks the label with probability 1), so its value never reaches the encoder.
public struct PerceiverClip: Sendable, Equatable {
    /// Pixels, frame-major and channel-first: element `[t, c, y, x]` at `((t * 3 + c) * height + y) * width + x`.
    public var frames: [Float]
    /// Number of frames (`num_frames` for a clip of the trained length).
    public var frameCount: Int
    /// Frame height in pixels (a multiple of 4).
    public var height: Int
    /// Frame width in pixels (a multiple of 4).
    public var width: Int
    /// Mono samples (a multiple of `samples_per_patch` of them; `num_frames * audio_samples_per_frame`
    /// for a clip of the trained length).
    public var audio: [Float]

    /// Channels per pixel (RGB).
    public static let channels = 3

    /// A clip from its frames (`[frameCount, 3, height, width]`) and samples.
    public init(frames: [Float], frameCount: Int, height: Int, width: Int, audio: [Float]) {
        self.frames = frames
        self.frameCount = frameCount
        self.height = height
        self.width = width
        self.audio = audio
    }
}
