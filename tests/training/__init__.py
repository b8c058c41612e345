"""Training (ifan.training): the scheduler and trainer, resume, learning-rate decay, best
checkpoints, loss balancers, loggers, distributed training."""
