"""What the tests share: starting and waiting, test models, installed-wheel sandboxes."""
