"""Faces in photos: finding and cutting them (`faces`), aligning them by the eyes (`align`), a
model on whole photos (`predict`), FG-NET's photos (`carryover`) and TensorFlow Lite (`deploy`)."""
