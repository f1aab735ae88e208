import QuiverTensor
import QuiverWeights

/// The trainable vectors of transformers' `PerceiverMultimodalPreprocessor`: per-modality padding
/// (`input_preprocessor.padding.{audio,image,label}`, broadcast over the modality's rows to reach
/// the common width) and the label's mask token (`input_preprocessor.mask.label`).
struct PerceiverPadding: Sendable {
    let audio: Tensor
    let image: Tensor
    let labelMask: Tensor

    /// Loads the padding of each modality (`[1, inputChannels - modality channels]`) and the mask
    /// tokens (`[1, inputChannels]`). The audio and image mask tokens are never applied (mask
    /// probability 0) and the label padding is always masked, but all are checked and taken.
    init(_ s: WeightScope, config c: PerceiverConfig) throws {
        let width = c.inputChannels
        audio = try s.tensor("padding.audio", [1, width - c.audioChannels])
        image = try s.tensor("padding.image", [1, width - c.imageChannels])
        _ = try s.tensor("padding.label", [1, width - c.numLabels])
        labelMask = try s.tensor("mask.label", [1, width])
        for m in ["audio", "image"] where s.has("mask.\(m)") { _ = try s.tensor("mask.\(m)", [1, width]) }
    }
}

/// The encoder's input array for one clip, made on demand a block of rows at a time (so the
/// cross-attention never holds all of it), exactly as transformers'
/// `PerceiverMultimodalPreprocessor` lays it out, modalities in sorted order:
///
/// - audio rows (`samples / samples_per_patch`): the patch's samples, its Fourier position
///   features (1-D, 192 bands, resolution `num_frames * audio_samples_per_frame`), the audio padding;
/// - image rows (`T * H/4 * W/4`, frame-major then row-major): the 4x4 patch's pixels in
///   space-to-depth order `(dy, dx, colour)`, its Fourier features (3-D over (t, y, x),
///   32 bands, resolutions `(num_frames, image_size, image_size)`), the image padding;
/// - one label row: the learned mask token (the label input is masked with probability 1).
struct PerceiverInputRows: Sendable {
    let clip: PerceiverClip
    let padding: PerceiverPadding
    let channels: Int
    let samplesPerPatch: Int
    let audioRows: Int
    let gridT: Int, gridH: Int, gridW: Int
    let audioAxis: PerceiverFourierAxis
    let imageAxes: [PerceiverFourierAxis]

    /// Checks the clip's sizes and builds the position tables.
    /// - Throws: `ModelsError.invalidInput` naming the size that does not fit.
    init(clip: PerceiverClip, config c: PerceiverConfig, padding: PerceiverPadding) throws {
        let block = PerceiverConfig.spatialDownsample
        guard clip.frameCount >= 1, clip.height >= block, clip.width >= block,
              clip.height % block == 0, clip.width % block == 0 else {
            throw ModelsError.invalidInput(reason: "a Perceiver clip needs at least one frame whose height and width are multiples of \(block); got \(clip.frameCount) frames of \(clip.height)x\(clip.width)")
        }
        let expected = clip.frameCount * PerceiverClip.channels * clip.height * clip.width
        guard clip.frames.count == expected else {
            throw ModelsError.invalidInput(reason: "a Perceiver clip of \(clip.frameCount) frames of 3x\(clip.height)x\(clip.width) has \(expected) pixel values, got \(clip.frames.count)")
        }
        guard clip.audio.count >= c.samplesPerPatch, clip.audio.count % c.samplesPerPatch == 0 else {
            throw ModelsError.invalidInput(reason: "a Perceiver clip's audio must be a positive multiple of samples_per_patch (\(c.samplesPerPatch)) samples, got \(clip.audio.count) (a trained clip has \(c.audioSamplesPerClip); pass silence for a video without sound)")
        }
        self.clip = clip
        self.padding = padding
        channels = c.inputChannels
        samplesPerPatch = c.samplesPerPatch
        audioRows = clip.audio.count / c.samplesPerPatch
        gridT = clip.frameCount / PerceiverConfig.temporalDownsample
        gridH = clip.height / block
        gridW = clip.width / block
        audioAxis = PerceiverFourierAxis(count: audioRows, resolution: c.audioSamplesPerClip, bands: PerceiverConfig.audioFourierBands)
        imageAxes = [
            PerceiverFourierAxis(count: gridT, resolution: c.numFrames, bands: PerceiverConfig.imageFourierBands),
            PerceiverFourierAxis(count: gridH, resolution: c.imageSize, bands: PerceiverConfig.imageFourierBands),
            PerceiverFourierAxis(count: gridW, resolution: c.imageSize, bands: PerceiverConfig.imageFourierBands),
        ]
    }

    /// Image rows.
    var imageRows: Int { gridT * gridH * gridW }
    /// All rows: audio, image, label.
    var count: Int { audioRows + imageRows + 1 }

    /// Writes rows `range` (each `channels` floats) to `out`, back to back.
    func fill(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        clip.audio.withUnsafeBufferPointer { audio in
            clip.frames.withUnsafeBufferPointer { frames in
                for (n, r) in range.enumerated() {
                    let row = out + n * channels
                    if r < audioRows {
                        audioRow(r, samples: audio.baseAddress!, into: row)
                    } else if r < audioRows + imageRows {
                        imageRow(r - audioRows, pixels: frames.baseAddress!, into: row)
                    } else {
                        row.update(from: padding.labelMask.pointer, count: channels)
                    }
                }
            }
        }
    }

    private func audioRow(_ i: Int, samples: UnsafePointer<Float>, into row: UnsafeMutablePointer<Float>) {
        row.update(from: samples + i * samplesPerPatch, count: samplesPerPatch)
        PerceiverFourierAxis.writeRow([audioAxis], indices: [i], into: row + samplesPerPatch)
        let used = samplesPerPatch + PerceiverFourierAxis.width(dims: 1, bands: audioAxis.bands)
        (row + used).update(from: padding.audio.pointer, count: channels - used)
    }

    private func imageRow(_ i: Int, pixels: UnsafePointer<Float>, into row: UnsafeMutablePointer<Float>) {
        let t = i / (gridH * gridW), y = (i / gridW) % gridH, x = i % gridW
        let block = PerceiverConfig.spatialDownsample, colours = PerceiverClip.channels
        let h = clip.height, w = clip.width
        var j = 0
        for dy in 0..<block {
            for dx in 0..<block {
                for c in 0..<colours {
                    row[j] = pixels[((t * colours + c) * h + y * block + dy) * w + x * block + dx]
                    j += 1
                }
            }
        }
        PerceiverFourierAxis.writeRow(imageAxes, indices: [t, y, x], into: row + j)
        let used = j + PerceiverFourierAxis.width(dims: 3, bands: imageAxes[0].bands)
        (row + used).update(from: padding.image.pointer, count: channels - used)
    }
}
