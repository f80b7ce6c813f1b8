"""JPEG bytes -> float [0, 1] pixels of the contract shape; shared by training input and serving."""

from __future__ import annotations

import tensorflow as tf

import contract as c

IMAGE_SHAPE = (c.IMAGE_SIZE, c.IMAGE_SIZE, c.IMAGE_CHANNELS)


GEOMETRY_ERROR = (f"image must be a {c.IMAGE_SIZE}x{c.IMAGE_SIZE} cutout at {c.PIXEL_SCALE_ARCSEC}\"/px; bring files "
                  "to the contract with ingest.cutout.to_contract (predict.py and import take --cutout-scale)")


def decode_one(jpeg: tf.Tensor) -> tf.Tensor:
    img = tf.io.decode_jpeg(jpeg, channels=c.IMAGE_CHANNELS)
    return tf.ensure_shape(tf.image.convert_image_dtype(img, tf.float32), IMAGE_SHAPE)


def to_pixels(images: tf.Tensor) -> tf.Tensor:
    """Batch of images as float pixels [B, H, W, C]: decodes JPEG strings, reshapes pre-decoded floats.

    Which one arrives depends on where decoding was chosen to run (Transform's
    `decode_images` switch); the model sees the same tensor either way.
    """
    if images.dtype == tf.string:
        flat = tf.reshape(images, [-1])
        # Geometry is made once, before serving (ingest/cutout.py); a wrong size is refused, never resized here.
        # The JPEG headers are read first, so the refusal names the rule rather than a shape mismatch.
        sizes = tf.map_fn(lambda j: tf.io.extract_jpeg_shape(j)[:2], flat, fn_output_signature=tf.int32)
        check = tf.debugging.assert_equal(sizes, tf.fill(tf.shape(sizes), c.IMAGE_SIZE), message=GEOMETRY_ERROR)
        with tf.control_dependencies([check]):
            flat = tf.identity(flat)
        return tf.map_fn(decode_one, flat, fn_output_signature=tf.TensorSpec(IMAGE_SHAPE, tf.float32))
    return tf.reshape(tf.cast(images, tf.float32), (-1, *IMAGE_SHAPE))


def decode_images(ds: tf.data.Dataset, key: str) -> tf.data.Dataset:
    """(features, label) batches with the `key` feature's JPEG bytes decoded to float pixels, in parallel."""
    def decode(features, label):
        if key in features:
            features = {**features, key: to_pixels(features[key])}
        return features, label

    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
