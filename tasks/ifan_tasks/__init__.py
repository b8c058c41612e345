"""The built-in task plugins of ifan. Each subpackage registers itself through an ``ifan`` entry
point of the ``ifan`` distribution, exactly as a third-party plugin would."""
