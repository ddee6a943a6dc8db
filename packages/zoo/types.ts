// The dataset type the loaders return and the batchers read; a leaf.

/**
 * A labelled image dataset held as bytes: `count` images of
 * `height x width x channels` pixels (0-255, row-major, channels last) and
 * one class index per image.
 */
export interface ImageSet {
  /** `count * height * width * channels` pixel values. */
  images: Uint8Array;
  /** `count` class indices in `[0, numClasses)`. */
  labels: Uint8Array;
  /** Number of images. */
  count: number;
  /** Image height in pixels. */
  height: number;
  /** Image width in pixels. */
  width: number;
  /** Channels per pixel. */
  channels: number;
  /** Number of classes. */
  numClasses: number;
  /** A name per class index. */
  classNames: readonly string[];
}
