#include "distributed/group.hpp"

#include <cstdlib>

#include "base/error.hpp"
#include "base/log_prefix.hpp"
#include "registry/loader.hpp"

namespace keel::dist {

bool Group::launched() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(var)) return true;
  return false;
}

std::unique_ptr<Group> Group::join_if_launched() {
  if (!launched()) return nullptr;
  const std::filesystem::path library = module_dir() / "keel_mpi.so";
  auto create = reinterpret_cast<CreateTransportFn>(load_module_symbol(library, kCreateTransportSymbol));
  std::string error;
  Transport* transport = create(&error);
  if (!transport) throw usage_error("cannot start MPI (" + library.string() + "): " + error);
  auto group = std::make_unique<Group>(transport);
  set_log_prefix("keel[rank " + std::to_string(group->rank()) + "]");
  return group;
}

void Group::shut_down() {
  if (shut_) return;
  shut_ = true;
  transport_->shut_down();
}

}  // namespace keel::dist
