"""What is done with a run (ifan.inference and its neighbours): evaluation, prediction of photos,
folders, videos and cameras, export, features, probes, pretrained models and comparisons."""
