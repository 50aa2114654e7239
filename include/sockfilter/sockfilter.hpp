// The whole public API of sockfilter in one include.
#pragma once

#include "sockfilter/error.hpp"
#include "sockfilter/insn.hpp"
#include "sockfilter/load_options.hpp"
#include "sockfilter/map_fd.hpp"
#include "sockfilter/owned_fd.hpp"
#include "sockfilter/path.hpp"
#include "sockfilter/program.hpp"
#include "sockfilter/program_fd.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/reuseport_socket_filter.hpp"
#include "sockfilter/socket_filter.hpp"
#include "sockfilter/socket_ref.hpp"
#include "sockfilter/stats.hpp"
#include "sockfilter/sys.hpp"
#include "sockfilter/test_run.hpp"
