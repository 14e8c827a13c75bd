using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Reflection.V1;

namespace Sds.Rpc.Reflection;

/// <summary>
/// What server reflection can answer: the served services, and every .proto file (with its dependencies) that
/// defines them, indexed by file name and by fully qualified symbol. Built before the server starts, read-only after.
/// </summary>
internal sealed class ReflectionIndex
{
    private const int NotFound = 5;
    private const int Unimplemented = 12;

    private readonly List<string> serviceNames = [];
    private readonly Dictionary<string, FileDescriptor> filesByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileDescriptor> filesBySymbol = new(StringComparer.Ordinal);

    /// <summary>Adds a served service; its descriptor (if known) makes its files and symbols discoverable.</summary>
    public void AddService(string serviceName, ServiceDescriptor? descriptor)
    {
        if (!serviceNames.Contains(serviceName))
        {
            serviceNames.Add(serviceName);
        }

        if (descriptor is not null)
        {
            AddFile(descriptor.File);
        }
    }

    /// <summary>Answers one reflection request.</summary>
    public ServerReflectionResponse Answer(ServerReflectionRequest request)
    {
        var response = new ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        switch (request.MessageRequestCase)
        {
            case ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                var list = new ListServiceResponse();
                foreach (var name in serviceNames)
                {
                    list.Service.Add(new ServiceResponse { Name = name });
                }

                response.ListServicesResponse = list;
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                SetFileOrError(response, filesByName.GetValueOrDefault(request.FileByFilename), "File not found: " + request.FileByFilename);
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                SetFileOrError(response, filesBySymbol.GetValueOrDefault(request.FileContainingSymbol), "Symbol not found: " + request.FileContainingSymbol);
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType:
                // proto3 contracts declare no extensions; answer with an empty list for known types.
                if (filesBySymbol.ContainsKey(request.AllExtensionNumbersOfType))
                {
                    response.AllExtensionNumbersResponse = new ExtensionNumberResponse { BaseTypeName = request.AllExtensionNumbersOfType };
                }
                else
                {
                    response.ErrorResponse = new ErrorResponse { ErrorCode = NotFound, ErrorMessage = "Type not found: " + request.AllExtensionNumbersOfType };
                }

                break;
            default:
                response.ErrorResponse = new ErrorResponse { ErrorCode = Unimplemented, ErrorMessage = "Request kind not supported." };
                break;
        }

        return response;
    }

    private static void SetFileOrError(ServerReflectionResponse response, FileDescriptor? file, string notFoundMessage)
    {
        if (file is null)
        {
            response.ErrorResponse = new ErrorResponse { ErrorCode = NotFound, ErrorMessage = notFoundMessage };
            return;
        }

        // The file first, then its transitive dependencies, so a client can build the whole descriptor pool.
        var answer = new FileDescriptorResponse();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<FileDescriptor>();
        pending.Push(file);
        while (pending.Count > 0)
        {
            var next = pending.Pop();
            if (!seen.Add(next.Name))
            {
                continue;
            }

            answer.FileDescriptorProto.Add(next.SerializedData);
            foreach (var dependency in next.Dependencies)
            {
                pending.Push(dependency);
            }
        }

        response.FileDescriptorResponse = answer;
    }

    private void AddFile(FileDescriptor file)
    {
        if (!filesByName.TryAdd(file.Name, file))
        {
            return;
        }

        foreach (var dependency in file.Dependencies)
        {
            AddFile(dependency);
        }

        foreach (var message in file.MessageTypes)
        {
            AddMessage(file, message);
        }

        foreach (var enumType in file.EnumTypes)
        {
            filesBySymbol.TryAdd(enumType.FullName, file);
        }

        foreach (var service in file.Services)
        {
            filesBySymbol.TryAdd(service.FullName, file);
            foreach (var method in service.Methods)
            {
                filesBySymbol.TryAdd(method.FullName, file);
            }
        }
    }

    private void AddMessage(FileDescriptor file, MessageDescriptor message)
    {
        filesBySymbol.TryAdd(message.FullName, file);
        foreach (var nested in message.NestedTypes)
        {
            AddMessage(file, nested);
        }

        foreach (var enumType in message.EnumTypes)
        {
            filesBySymbol.TryAdd(enumType.FullName, file);
        }
    }
}
