"""Reading datasets (ifan.data): list files and images, the crop rule, augmentation of a batch,
prepared datasets and a task's splits."""
