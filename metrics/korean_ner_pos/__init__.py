"""The korean_ner_pos evaluate metric, installed inside the package as `modeling_mtl_bilstm.metrics` so that an
installed package can load it by path (`evaluate.load(<path to korean_ner_pos.py>)`) without a checkout."""
