// podshim-keeper: the pod keeper `podshim start` execs beside each shim (keeper.h).
#include "shim/keeper/keeper.h"

int main(int argc, char** argv) { return podshim::shim::RunKeeper(argc, argv); }
