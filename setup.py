from pathlib import Path

from setuptools import setup

README = Path(__file__).with_name("README.md")

setup(
    name="mtl-bilstm-ner",
    version="0.1.0",
    description="Korean named-entity recognition with a multi-task (POS + NER) Bi-LSTM, as a transformers model",
    long_description=README.read_text(encoding="utf-8") if README.exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    # The datasets builder lives in data_scripts/ at the top of the repository and is
    # installed as the sub-package modeling_mtl_bilstm.data_scripts.
    packages=["modeling_mtl_bilstm", "modeling_mtl_bilstm.data_scripts"],
    package_dir={"modeling_mtl_bilstm.data_scripts": "data_scripts"},
    package_data={
        "modeling_mtl_bilstm": ["model_card_template.md"],
        "modeling_mtl_bilstm.data_scripts": ["sample/*.txt", "sample/*.md"],
    },
    install_requires=[
        "torch>=2.2",
        "transformers>=5.0",
        "datasets>=4.0",
        "evaluate>=0.4",
        "accelerate>=1.0",
        "huggingface-hub>=1.0",
        "seqeval>=1.2",
        "safetensors>=0.4",
        "tqdm>=4.60",
        "numpy",
        "matplotlib",
    ],
    # kiwipiepy is held to one minor release: the tests pin Kiwi's analyses of given sentences, and
    # another model release may analyse them differently.
    extras_require={
        "korean": ["kiwipiepy>=0.24,<0.25"],
        "dev": ["pytest>=7", "kiwipiepy>=0.24,<0.25"],
    },
    entry_points={"console_scripts": ["mtl-bilstm-ner=modeling_mtl_bilstm.cli:main"]},
)
