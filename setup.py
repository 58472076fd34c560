import re
from pathlib import Path

from setuptools import find_packages, setup

setup(
    name='panda-plugin',
    version=re.search(r"__version__ = '(.+)'", Path(__file__).with_name('panda_plugin').joinpath(
        'core', 'version.py').read_text(encoding='utf-8'))[1],
    description='Panoptic Pairwise Distortion Graphs (PANDA) for BasicSR and pyiqa',
    long_description=Path(__file__).with_name('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['panda_plugin', 'panda_plugin.*']),
    package_data={'panda_plugin': ['weights/*.safetensors', 'weights/*.npz']},
    install_requires=[
        'numpy',
        'scipy',
        'scikit-image',
        'opencv-python-headless',
        'pillow',
        'matplotlib',
        'lmdb',
        'tqdm',
        'pyyaml',
        'safetensors',
        'torch',
        'timm',
    ],
    extras_require={
        'basicsr': ['basicsr==1.4.2', 'tensorboard'],
        'pyiqa': ['pyiqa'],
        'sam': ['segment-anything'],
        'test': ['pytest', 'pycocotools', 'hypothesis'],
    },
    entry_points={'console_scripts': ['panda = panda_plugin.adapters.cli:main']},
)
