import flashc


class _Cuda:
    def __init__(self, capability):
        self.capability = capability

    def get_device_capability(self, device):
        return self.capability


class _Torch:
    def __init__(self, capability):
        self.cuda = _Cuda(capability)


for capability in ((8, 0), (8, 6), (8, 7), (8, 9), (9, 0), (10, 0), (12, 0),
                   (7, 5)):
    name = "%d.%d" % capability
    try:
        print(name, flashc._device_arch(_Torch(capability), 0))
    except ValueError as e:
        print(name, "ValueError", e)
