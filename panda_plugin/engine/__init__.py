"""Engine layer: regions, distortions, labelling, the PANDA network, prediction and training data.

Needs torch and the scientific stack; never imports BasicSR, pyiqa or TensorBoard.
"""
