"""Training the reader: questions generated from corpus sentences, pairs with spans and hard negatives, the
fit loop and the int8 ONNX export. Apart from inference (:mod:`assistant.answer.reader`), which never imports
torch or spaCy; only ``briefings train`` (``make train-reader``) loads this package."""
